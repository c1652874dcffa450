import Router from '@koa/router';
import Koa from 'koa';
import {
  chain,
  corsFor,
  hostGuard,
  privateAnswers,
  createHttpLimits,
  createLifecycle,
  docsRoutes,
  healthRoutes,
  metricsRoute,
  problemMiddleware,
  requestContext,
  requestTimeout,
  requireBearer,
  trustProxy,
  type Knex,
  type Lifecycle,
  type LimitsConfig,
  type Logger,
  type RequestState,
} from '@hosting/shared';
import { createEventsRepo } from './features/events/events.repo.js';
import { registerEventRoutes } from './features/events/events.routes.js';
import { createEventsService } from './features/events/events.service.js';
import { registerActivityRoutes } from './features/activity/activity.routes.js';
import { registerExportRoutes } from './features/export/export.routes.js';
import { createAggregatorMetrics, type AggregatorMetrics } from './metrics.js';
import { openapiDocument } from './openapi/document.js';

export interface AppDeps {
  db: Knex;
  logger: Logger;
  config: { AGGREGATOR_SERVICE_TOKEN: string; CORS_ORIGINS?: string; METRICS_TOKEN?: string } & LimitsConfig;
  /** Set by main.ts when shutting down (readiness then answers 503). */
  lifecycle?: Lifecycle;
  metrics?: AggregatorMetrics;
}

/**
 * Builds the aggregator's Koa app: the event store's ingest and read API. No side effects and no
 * environment reads: main.ts and the tests pass everything in.
 *
 * Middleware order is fixed: request context (id, one log line, metrics) → CORS → error body →
 * open routes (health, docs) → failed-authentication guard (429 for an address that earned too
 * many 401s) → request timeout (503) → metrics (own token) → routes behind the bearer token, each
 * rate-limited per credential after authentication.
 */
export function createApp(deps: AppDeps): Koa<RequestState> {
  const { db, logger, config } = deps;
  const events = createEventsService({ events: createEventsRepo(db) });
  const metrics = deps.metrics ?? createAggregatorMetrics({ db });

  const limits = createHttpLimits(config, { db, logger });

  const app = new Koa<RequestState>();
  trustProxy(app, config.TRUST_PROXY);
  app.silent = true; // errors are logged once, by the request context, with the request id
  // What still reaches Koa (a streamed body failing after its headers went out, a client gone
  // mid-stream) goes to the log, not to the console.
  app.on('error', (err: Error) => logger.warn({ err: err.message }, 'response stream ended early'));
  app.use(requestContext(logger, metrics.observe));
  app.use(corsFor(config.CORS_ORIGINS ?? ''));
  app.use(problemMiddleware());
  app.use(healthRoutes({ db, lifecycle: deps.lifecycle ?? createLifecycle() }));
  app.use(docsRoutes(openapiDocument, { title: 'aggregator-service' }));
  app.use(limits.failedAuth);
  app.use(requestTimeout(limits.requestTimeoutMs));
  app.use(metricsRoute({ registry: metrics.registry, tokens: [config.AGGREGATOR_SERVICE_TOKEN, config.METRICS_TOKEN] }));

  const router = new Router<RequestState>();
  // 400 for a Host that is not hostname[:port], on the routes (their links are built from it); an
  // unmatched path is left to its 404, and the open routes in front answer whatever the Host.
  router.use(hostGuard());
  const auth = chain(requireBearer(config.AGGREGATOR_SERVICE_TOKEN), limits.perCredential);
  // The export's fixed path is registered before /events/:id, which would otherwise take it.
  registerExportRoutes(router, { auth, db });
  registerEventRoutes(router, { auth, events, onIngested: metrics.ingested });
  registerActivityRoutes(router, { auth, events });

  app.use(privateAnswers()); // Cache-Control: private, no-store on every answer of the routes below
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
