import { Readable } from 'node:stream';
import type { Middleware } from 'koa';
import { parseWith } from '@hosting/shared';
import type { AppRouter } from '../../http/types.js';
import { CONTENT_TYPES, exportFilename } from './export.format.js';
import { exportQuery } from './export.schema.js';
import type { ExportService } from './export.service.js';

/** A client that takes nothing of the export for this long is cut off (its connection and snapshot freed). */
export const EXPORT_IDLE_TIMEOUT_MS = 60_000;

/**
 * `GET /events/export?format=ndjson|csv&…filters`: every matching event, oldest first, streamed.
 *
 * The body is a Readable over the export's text pieces; Koa pipes it into the socket with
 * `stream.pipeline`, so the socket's backpressure reaches the database cursor (a batch is fetched
 * only when the previous one has been written), and a client that goes away destroys the stream,
 * which closes the cursor and gives the connection back. `idleTimeoutMs` (default
 * EXPORT_IDLE_TIMEOUT_MS): how long the socket may make no progress (a client that stopped reading).
 */
export function registerExportRoutes(router: AppRouter, deps: { auth: Middleware; exports: ExportService; idleTimeoutMs?: number }): void {
  const { exports } = deps;
  const idleTimeoutMs = deps.idleTimeoutMs ?? EXPORT_IDLE_TIMEOUT_MS;

  router.get('/events/export', deps.auth, async (ctx) => {
    const { format, ...filter } = parseWith(exportQuery, ctx.query, 'query');
    const chunks = await exports.start(filter, format);
    const body = Readable.from(chunks, { objectMode: false, highWaterMark: 64 * 1024 });
    body.on('error', (err) => {
      // Headers are gone by then: the client sees a cut response; the log says why.
      if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') ctx.state.log.error({ err }, 'export failed while streaming');
    });
    // A socket that makes no progress (the client stopped reading, its buffers are full) is cut:
    // that destroys the body, which ends the export. Set on the socket, so it lasts past this handler.
    ctx.res.setTimeout(idleTimeoutMs, () => {
      ctx.state.log.warn({ idleTimeoutMs }, 'export client stopped reading; cutting it off');
      ctx.res.destroy();
    });
    ctx.status = 200;
    ctx.type = CONTENT_TYPES[format];
    ctx.set('Content-Disposition', `attachment; filename="${exportFilename(format, new Date())}"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.body = body;
  });
}
