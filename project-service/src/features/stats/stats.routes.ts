import type { Middleware } from 'koa';
import type { Knex } from '@hosting/shared';
import type { AppRouter } from '../../http/types.js';

/** `GET /users/:id/stats` (issue 5). Placeholder: registered by app.ts, filled in by its feature. */
export function registerStatsRoutes(_router: AppRouter, _deps: { auth: Middleware; db: Knex; clock: () => Date }): void {}
