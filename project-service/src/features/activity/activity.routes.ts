import type { Middleware } from 'koa';
import type { Knex } from '@hosting/shared';
import type { AggregatorClient } from '../../events/aggregator-client.js';
import type { AppRouter } from '../../http/types.js';

/** `GET /projects/:id/activity` (issue 5). Placeholder: registered by app.ts, filled in by its feature. */
export function registerActivityRoutes(_router: AppRouter, _deps: { auth: Middleware; db: Knex; aggregator?: AggregatorClient }): void {}
