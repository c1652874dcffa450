import type { Middleware } from 'koa';
import type { Knex } from '@hosting/shared';
import type { AppRouter } from '../../http/types.js';
import type { DeploymentStreamHub } from './stream-hub.js';

/** `GET /projects/:id/deployments/stream`, `GET /deployments/stream` (issue 5). Placeholder. */
export function registerStreamRoutes(_router: AppRouter, _deps: { auth: Middleware; db: Knex; hub?: DeploymentStreamHub }): void {}
