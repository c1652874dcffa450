import type { Middleware } from 'koa';
import { parseWith } from '@hosting/shared';
import { projectIdParams } from '../projects/projects.schema.js';
import { ownerOf } from '../../http/scope.js';
import type { AppContext, AppRouter } from '../../http/types.js';
import type { DeploymentStreamHub } from './stream-hub.js';
import { streamHeaders, streamQuery } from './stream.schema.js';

/**
 * `GET /deployments/stream` (every project) and `GET /projects/:id/deployments/stream` (one):
 * Server-Sent Events of deployment changes, fed by the process's hub (stream-hub.ts). A hub not
 * started (an app whose service was never started, as most tests build it) answers 503: a stream
 * that never delivers would look healthy and be wrong. A user's token streams its own projects only
 * (another user's project is a 404, like an unknown one).
 */
export function registerStreamRoutes(router: AppRouter, deps: { auth: Middleware; hub: DeploymentStreamHub }): void {
  const { auth, hub } = deps;

  async function open(ctx: AppContext, projectId: number | undefined): Promise<void> {
    const headers = parseWith(streamHeaders, { 'last-event-id': ctx.get('Last-Event-ID') || undefined }, 'header');
    const query = parseWith(streamQuery, ctx.query, 'query');
    const owner = ownerOf(ctx.state);
    const stream = await hub.subscribe({
      projectId,
      lastEventId: headers['last-event-id'] ?? query.lastEventId,
      ...(owner === undefined ? {} : { owner }),
    });
    ctx.status = 200;
    ctx.type = 'text/event-stream; charset=utf-8';
    // no-store: like every authenticated answer, never kept by a cache; no-transform: no proxy may compress (and so buffer) it.
    ctx.set('Cache-Control', 'private, no-store, no-transform');
    ctx.set('X-Accel-Buffering', 'no'); // nginx: pass each event on at once
    // The connection ends with the stream (stop() on shutdown ends every stream): closing it then,
    // rather than keeping it alive idle, lets the server's shutdown finish at once.
    ctx.set('Connection', 'close');
    ctx.body = stream;
  }

  // Registered by app.ts before the deployments feature: `/deployments/:id` matches this path too.
  router.get('/deployments/stream', auth, async (ctx) => {
    await open(ctx, undefined);
  });
  router.get('/projects/:id/deployments/stream', auth, async (ctx) => {
    const { id } = parseWith(projectIdParams, ctx.params, 'path');
    await open(ctx, id);
  });
}
