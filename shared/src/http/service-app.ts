import Router from '@koa/router';
import Koa from 'koa';
import type { Knex } from '../db/knex.js';
import type { Logger } from '../logger.js';
import { hostGuard, privateAnswers } from './base-url.js';
import { corsFor } from './cors.js';
import { docsRoutes } from './docs-ui.js';
import { healthRoutes, metricsRoute, type HttpMetrics, type Lifecycle } from './ops.js';
import { problemMiddleware } from './problem.js';
import { createHttpLimits, trustProxy, type HttpLimits, type LimitsConfig } from './limits/index.js';
import type { ServiceConfig } from '../service.js';
import { requestContext, type RequestState } from './request-context.js';
import { requestTimeout } from './timeout.js';

export type ServiceRouter = Router<RequestState>;

/** The settings the shared stack reads from a service's config (shared/src/service.ts documents them). */
export type ServiceAppConfig = LimitsConfig & Pick<ServiceConfig, 'CORS_ORIGINS' | 'METRICS_TOKEN'>;

export interface ServiceAppOptions {
  logger: Logger;
  /** Probed by readiness, and nothing else here. */
  db: Knex;
  /** Set when shutting down: readiness then answers 503. */
  lifecycle: Lifecycle;
  metrics: HttpMetrics;
  config: ServiceAppConfig;
  /** The service's own token: GET /metrics accepts it, and METRICS_TOKEN when set. */
  serviceToken: string;
  /** The service's OpenAPI document, served with its Swagger UI. */
  openapi: { document: object; title: string };
  /** Registers the service's API routes, each with its own authentication and rate limit (from `limits`, the app's). */
  routes(router: ServiceRouter, limits: HttpLimits): void;
}

/**
 * The Koa app of either service: one middleware stack, in one fixed order.
 *
 * 1. request context: request id, one log line per request, the request's metrics;
 * 2. CORS (the listed origins only);
 * 3. the error body: every error below becomes the contract's problem body;
 * 4. open routes, answered whatever the Host and without a credential: /healthz, /readyz, the
 *    OpenAPI document and its Swagger UI;
 * 5. the failed-authentication guard (429 for an address that earned too many 401s);
 * 6. the request timeout (503; streams are exempt once started);
 * 7. GET /metrics, behind its own tokens;
 * 8. `Cache-Control: private, no-store` on every answer of the API routes;
 * 9. the API routes, behind a Host guard (400 for a Host that is not hostname[:port]: links are
 *    built from it), then 405/501 for a known path with another method.
 */
export function createServiceApp(options: ServiceAppOptions): Koa<RequestState> {
  const { logger, config } = options;
  const limits = createHttpLimits(config, { db: options.db, logger });
  const app = new Koa<RequestState>();
  trustProxy(app, config.TRUST_PROXY);
  app.silent = true; // errors are logged once, by the request context, with the request id
  // What still reaches Koa (a streamed body failing after its headers went out, a client gone
  // mid-stream) goes to the log, not to the console.
  app.on('error', (err: Error) => logger.warn({ err: err.message }, 'response stream ended early'));
  app.use(requestContext(logger, options.metrics.observe));
  app.use(corsFor(config.CORS_ORIGINS));
  app.use(problemMiddleware());
  app.use(healthRoutes({ db: options.db, lifecycle: options.lifecycle }));
  app.use(docsRoutes(options.openapi.document, { title: options.openapi.title }));
  app.use(limits.failedAuth);
  app.use(requestTimeout(limits.requestTimeoutMs));
  app.use(metricsRoute({ registry: options.metrics.registry, tokens: [options.serviceToken, config.METRICS_TOKEN] }));

  const router = new Router<RequestState>();
  // An unmatched path is left to its 404: the guard runs on the routes only.
  router.use(hostGuard());
  options.routes(router, limits);
  app.use(privateAnswers());
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
