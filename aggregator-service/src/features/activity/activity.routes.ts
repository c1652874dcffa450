import type { Middleware } from 'koa';
import { parseWith, setNextPageLink } from '@hosting/shared';
import type { AppRouter } from '../../http/types.js';
import type { EventsService } from '../events/events.service.js';
import { activityJson, activityParams, activityQuery } from './activity.schema.js';

/**
 * `GET /projects/:id/activity`: a project's events newest first, each with a human `summary`.
 * It is `GET /events?projectId=` (same keyset query, same cursor, same page sizes) with a
 * narrower item shape. The aggregator does not know projects: an unknown one has no events, so
 * its feed is an empty page, not a 404 (project-service, which knows them, answers the 404).
 */
export function registerActivityRoutes(router: AppRouter, deps: { auth: Middleware; events: EventsService }): void {
  const { events } = deps;

  router.get('/projects/:id/activity', deps.auth, async (ctx) => {
    const { id } = parseWith(activityParams, ctx.params, 'path');
    const { limit, cursor } = parseWith(activityQuery, ctx.query, 'query');
    const page = await events.list({ projectId: id }, limit, cursor);
    setNextPageLink(ctx, page.nextCursor, { limit });
    ctx.body = { data: page.events.map(activityJson), nextCursor: page.nextCursor };
  });
}
