import type { Middleware } from 'koa';
import { jsonBody, parseWith, requestBaseUrl } from '@hosting/shared';
import type { AppRouter } from '../../http/types.js';
import { parseEventBatch } from './batch.js';
import { eventIdParams, eventJson, listEventsQuery } from './events.schema.js';
import type { EventsService } from './events.service.js';

/** HTTP adapters of the event store: parse input, call the service, shape the answer. */

/** The whole body of `POST /events`: 500 events of 32 kB would be 16 MB; the body cap is tighter. */
const BODY_LIMIT = '1mb';

export function registerEventRoutes(
  router: AppRouter,
  deps: { auth: Middleware; events: EventsService; onIngested?: (stored: number, duplicates: number) => void },
) {
  const { auth, events } = deps;

  /**
   * Always 200, also when every event was a duplicate: a sender retrying a batch gets the same
   * kind of answer as the first time, and reads the per-event `results` for what happened.
   */
  router.post('/events', auth, jsonBody(BODY_LIMIT), async (ctx) => {
    const batch = parseEventBatch(ctx.request.body);
    const result = await events.ingest(batch);
    deps.onIngested?.(result.stored, result.duplicates);
    ctx.status = 200;
    ctx.body = result;
  });

  router.get('/events', auth, async (ctx) => {
    const { limit, cursor, ...filter } = parseWith(listEventsQuery, ctx.query, 'query');
    const page = await events.list(filter, limit, cursor);
    if (page.nextCursor) {
      const query = new URLSearchParams(ctx.querystring);
      query.set('cursor', page.nextCursor);
      ctx.set('Link', `<${requestBaseUrl(ctx)}${ctx.path}?${query.toString()}>; rel="next"`);
    }
    ctx.body = { data: page.events.map(eventJson), nextCursor: page.nextCursor };
  });

  router.get('/events/:id', auth, async (ctx) => {
    const { id } = parseWith(eventIdParams, ctx.params, 'path');
    ctx.body = eventJson(await events.get(id));
  });
}
