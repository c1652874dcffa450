import Router from '@koa/router';
import Koa from 'koa';
import {
  corsFor,
  hostGuard,
  privateAnswers,
  createLifecycle,
  docsRoutes,
  healthRoutes,
  metricsRoute,
  problemMiddleware,
  requestContext,
  type Knex,
  type Lifecycle,
  type Logger,
  type RequestState,
} from '@hosting/shared';
import { chain, createHttpLimits, requestTimeout, trustProxy, type LimitsConfig } from '@hosting/shared';
import { createOutboxRepo } from './events/outbox.repo.js';
import { registerOutboxRoutes } from './events/outbox.routes.js';
import { projectAuth, type AuthConfig } from './http/auth.js';
import { createDeploymentsRepo } from './features/deployments/deployments.repo.js';
import { registerDeploymentRoutes } from './features/deployments/deployments.routes.js';
import { createDeploymentsService } from './features/deployments/deployments.service.js';
import { createProjectsRepo } from './features/projects/projects.repo.js';
import { registerProjectRoutes } from './features/projects/projects.routes.js';
import { createProjectsService } from './features/projects/projects.service.js';
import { registerWebhookRoutes } from './features/webhooks/webhook.routes.js';
import { registerActivityRoutes } from './features/activity/activity.routes.js';
import { registerStatsRoutes } from './features/stats/stats.routes.js';
import type { DeploymentStreamHub } from './features/stream/stream-hub.js';
import { registerStreamRoutes } from './features/stream/stream.routes.js';
import type { AggregatorClient } from './events/aggregator-client.js';
import { createProjectMetrics, type ProjectMetrics } from './metrics.js';
import { openapiDocument } from './openapi/document.js';

export interface AppDeps {
  db: Knex;
  logger: Logger;
  /** AuthConfig: the service token, and JWT mode's settings (off without them). */
  config: AuthConfig &
    LimitsConfig & {
      PROJECT_SERVICE_TOKEN: string;
      PUBLIC_DOMAIN: string;
      PUBLIC_BASE_URL?: string;
      CORS_ORIGINS?: string;
      METRICS_TOKEN?: string;
      ONGOING_DEPLOYMENTS_THRESHOLD?: number;
    };
  /** Set by main.ts when shutting down (readiness then answers 503). */
  lifecycle?: Lifecycle;
  /** main.ts passes the metrics it shares with the relay; tests get their own. */
  metrics?: ProjectMetrics;
  /** The clock that decides "the current week" of statistics (tests fix it). */
  clock?: () => Date;
  /** The aggregator, for the activity feed; without it the feed answers 503. */
  aggregator?: AggregatorClient;
  /** Live deployment status, fed by LISTEN/NOTIFY (main.ts starts it). */
  streamHub?: DeploymentStreamHub;
}

/**
 * Builds the project service's Koa app. No side effects and no environment reads: main.ts and
 * the tests pass everything in, and two apps can live in one process.
 *
 * Middleware order is fixed: request context (id, one log line, metrics) → CORS → error body →
 * open routes (health, docs) → metrics (own token) → API routes.
 */
export function createApp(deps: AppDeps): Koa<RequestState> {
  const { db, logger, config } = deps;
  const ongoingThreshold = config.ONGOING_DEPLOYMENTS_THRESHOLD ?? 3;
  const projectsRepo = createProjectsRepo(db);
  const outboxRepo = createOutboxRepo(db);
  const metrics = deps.metrics ?? createProjectMetrics({ db, outbox: outboxRepo, projects: projectsRepo, ongoingThreshold });
  const projects = createProjectsService({ projects: projectsRepo });
  const deployments = createDeploymentsService({ deployments: createDeploymentsRepo(db), publicDomain: config.PUBLIC_DOMAIN });

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
  app.use(docsRoutes(openapiDocument, { title: 'project-service' }));
  app.use(limits.failedAuth); // 429 for an address that earned too many 401s (shared/src/http/limits/)
  app.use(requestTimeout(limits.requestTimeoutMs)); // 503 for a request not done in time (streams exempt once started)
  app.use(metricsRoute({ registry: metrics.registry, tokens: [config.PROJECT_SERVICE_TOKEN, config.METRICS_TOKEN] }));

  const router = new Router<RequestState>();
  // 400 for a Host that is not hostname[:port], on the routes (their links are built from it); an
  // unmatched path is left to its 404, and the open routes in front answer whatever the Host.
  router.use(hostGuard());
  const auth = chain(projectAuth(db, config), limits.perCredential);
  const publicBaseUrl = config.PUBLIC_BASE_URL;
  // The stream's literal paths first: the router runs matching routes in registration order, and
  // `/deployments/:id` would otherwise take `/deployments/stream`.
  registerStreamRoutes(router, { auth, db, hub: deps.streamHub });
  registerProjectRoutes(router, { auth, projects, deployments, publicBaseUrl, ongoingThreshold });
  registerDeploymentRoutes(router, { auth, deployments, publicBaseUrl });
  registerWebhookRoutes(router, { deployments, metrics, limits });
  registerOutboxRoutes(router, { auth, outbox: outboxRepo });
  registerStatsRoutes(router, { auth, db, clock: deps.clock ?? (() => new Date()) });
  registerActivityRoutes(router, { auth, projects: projectsRepo, aggregator: deps.aggregator, publicBaseUrl });

  app.use(privateAnswers()); // Cache-Control: private, no-store on every answer of the routes below
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
