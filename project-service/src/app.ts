import type { Middleware } from 'koa';
import { chain, createServiceApp, type Knex, type Lifecycle, type Logger, type RequestState } from '@hosting/shared';
import type Koa from 'koa';
import type { ProjectServiceConfig } from './config.js';
import { registerOutboxRoutes } from './events/outbox.routes.js';
import type { OutboxService } from './events/outbox.service.js';
import { registerActivityRoutes } from './features/activity/activity.routes.js';
import type { ActivityService } from './features/activity/activity.service.js';
import { registerDeploymentRoutes } from './features/deployments/deployments.routes.js';
import type { DeploymentsService } from './features/deployments/deployments.service.js';
import { registerProjectRoutes } from './features/projects/projects.routes.js';
import type { ProjectsService } from './features/projects/projects.service.js';
import { registerStatsRoutes } from './features/stats/stats.routes.js';
import type { StatsService } from './features/stats/stats.service.js';
import type { DeploymentStreamHub } from './features/stream/stream-hub.js';
import { registerStreamRoutes } from './features/stream/stream.routes.js';
import { registerWebhookRoutes } from './features/webhooks/webhook.routes.js';
import type { ProjectMetrics } from './metrics.js';
import { openapiDocument } from './openapi/document.js';

/** What the routes call: built by compose.ts, never a repository or the pool. */
export interface ProjectServices {
  projects: ProjectsService;
  deployments: DeploymentsService;
  stats: StatsService;
  activity: ActivityService;
  outbox: OutboxService;
  stream: DeploymentStreamHub;
}

export interface AppDeps {
  config: ProjectServiceConfig;
  logger: Logger;
  /** Probed by readiness only. */
  db: Knex;
  lifecycle: Lifecycle;
  metrics: ProjectMetrics;
  /** The API's authentication (service token; JWT mode when configured): http/auth.ts. */
  authenticate: Middleware;
  services: ProjectServices;
}

/**
 * The project service's Koa app: the shared middleware stack (shared/src/http/service-app.ts)
 * around this service's route table. No side effects and no environment reads; compose.ts builds
 * what it is given.
 */
export function createApp(deps: AppDeps): Koa<RequestState> {
  const { config, services } = deps;
  const publicBaseUrl = config.PUBLIC_BASE_URL;
  return createServiceApp({
    ...deps,
    serviceToken: config.PROJECT_SERVICE_TOKEN,
    openapi: { document: openapiDocument, title: 'project-service' },
    routes: (router, limits) => {
      const auth = chain(deps.authenticate, limits.perCredential);
      // The stream's literal paths first: the router runs matching routes in registration order, and
      // `/deployments/:id` would otherwise take `/deployments/stream`.
      registerStreamRoutes(router, { auth, hub: services.stream });
      registerProjectRoutes(router, {
        auth,
        projects: services.projects,
        publicBaseUrl,
        ongoingThreshold: config.ONGOING_DEPLOYMENTS_THRESHOLD,
      });
      registerDeploymentRoutes(router, { auth, deployments: services.deployments, publicBaseUrl });
      registerWebhookRoutes(router, { deployments: services.deployments, metrics: deps.metrics, limits });
      registerOutboxRoutes(router, { auth, outbox: services.outbox });
      registerStatsRoutes(router, { auth, stats: services.stats });
      registerActivityRoutes(router, { auth, activity: services.activity, publicBaseUrl });
    },
  });
}
