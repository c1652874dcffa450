import type { Middleware } from 'koa';
import type { Knex } from '@hosting/shared';
import type { AppRouter } from '../../http/types.js';

/** `GET /events/export` (issue 5). Placeholder: registered by app.ts, filled in by its feature. */
export function registerExportRoutes(_router: AppRouter, _deps: { auth: Middleware; db: Knex }): void {}
