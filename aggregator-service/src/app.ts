import Router from '@koa/router';
import Koa from 'koa';
import { problemMiddleware, requestContext, requireBearer, type Knex, type Logger, type RequestState } from '@hosting/shared';
import { createEventsRepo } from './features/events/events.repo.js';
import { registerEventRoutes } from './features/events/events.routes.js';
import { createEventsService } from './features/events/events.service.js';

export interface AppDeps {
  db: Knex;
  logger: Logger;
  config: { AGGREGATOR_SERVICE_TOKEN: string };
}

/**
 * Builds the aggregator's Koa app: the event store's ingest and read API. No side effects and no
 * environment reads: main.ts and the tests pass everything in.
 *
 * Middleware order is fixed: request context (id, one log line) → error body → routes, each
 * behind the bearer token.
 */
export function createApp(deps: AppDeps): Koa<RequestState> {
  const { db, logger, config } = deps;
  const events = createEventsService({ events: createEventsRepo(db) });

  const app = new Koa<RequestState>();
  app.silent = true; // errors are logged once, by the request context, with the request id
  app.use(requestContext(logger));
  app.use(problemMiddleware());

  const router = new Router<RequestState>();
  registerEventRoutes(router, { auth: requireBearer(config.AGGREGATOR_SERVICE_TOKEN), events });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
