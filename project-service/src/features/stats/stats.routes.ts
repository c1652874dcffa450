import type { Middleware } from 'koa';
import { parseWith } from '@hosting/shared';
import { ownerOf } from '../../http/scope.js';
import type { AppRouter } from '../../http/types.js';
import { userIdParams, userStatsJson, userStatsQuery } from './stats.schema.js';
import type { StatsService } from './stats.service.js';

/** `GET /users/:id/stats`: a user's deployments per ISO week (see stats.api.ts for the definition); a user's token, their own only. */
export function registerStatsRoutes(router: AppRouter, deps: { auth: Middleware; stats: StatsService }): void {
  const { stats } = deps;

  router.get('/users/:id/stats', deps.auth, async (ctx) => {
    const { id } = parseWith(userIdParams, ctx.params, 'path');
    const { from, to } = parseWith(userStatsQuery, { from: ctx.query.from, to: ctx.query.to }, 'query');
    ctx.body = userStatsJson(await stats.forUser(id, { from, to }, ownerOf(ctx.state)));
  });
}
