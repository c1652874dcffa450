import type { Middleware } from 'koa';
import { parseWith, setNextPageLink } from '@hosting/shared';
import { projectIdParams } from '../projects/projects.schema.js';
import { ownerOf } from '../../http/scope.js';
import type { AppRouter } from '../../http/types.js';
import { activityQuery } from './activity.schema.js';
import type { ActivityService } from './activity.service.js';

/**
 * `GET /projects/:id/activity`: the project's events, newest first, with a sentence each, for the
 * admin panel. The page comes from the aggregator; the `Link` is ours, built from its
 * `nextCursor` on this service's own URL (the aggregator is private: its URL must never reach a client).
 * `publicBaseUrl` (PUBLIC_BASE_URL) may be unset: then the link uses the request's host.
 */
export function registerActivityRoutes(
  router: AppRouter,
  deps: { auth: Middleware; activity: ActivityService; publicBaseUrl: string | undefined },
): void {
  const { activity } = deps;

  router.get('/projects/:id/activity', deps.auth, async (ctx) => {
    const { id } = parseWith(projectIdParams, ctx.params, 'path');
    const query = parseWith(activityQuery, { limit: ctx.query.limit, cursor: ctx.query.cursor }, 'query');
    const page = await activity.feed(id, query, ctx.state.requestId, ownerOf(ctx.state));
    setNextPageLink(ctx, page.nextCursor, { limit: query.limit }, deps.publicBaseUrl);
    ctx.body = page;
  });
}
