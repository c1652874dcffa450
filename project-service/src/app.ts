import Router from '@koa/router';
import Koa from 'koa';
import { problemMiddleware, requestContext, requireBearer, type Knex, type Logger, type RequestState } from '@hosting/shared';
import { createDeploymentsRepo } from './features/deployments/deployments.repo.js';
import { registerDeploymentRoutes } from './features/deployments/deployments.routes.js';
import { createDeploymentsService } from './features/deployments/deployments.service.js';
import { createProjectsRepo } from './features/projects/projects.repo.js';
import { registerProjectRoutes } from './features/projects/projects.routes.js';
import { createProjectsService } from './features/projects/projects.service.js';
import { registerWebhookRoutes } from './features/webhooks/webhook.routes.js';
import { createOutboxRepo } from './events/outbox.repo.js';
import { registerOutboxRoutes } from './events/outbox.routes.js';

export interface AppDeps {
  db: Knex;
  logger: Logger;
  config: {
    PROJECT_SERVICE_TOKEN: string;
    PUBLIC_DOMAIN: string;
    PUBLIC_BASE_URL?: string;
  };
}

/**
 * Builds the project service's Koa app. No side effects and no environment reads: main.ts and
 * the tests pass everything in, and two apps can live in one process.
 *
 * Middleware order is fixed: request context (id, one log line) → error body → routes.
 */
export function createApp(deps: AppDeps): Koa<RequestState> {
  const { db, logger, config } = deps;
  const projectsRepo = createProjectsRepo(db);
  const deploymentsRepo = createDeploymentsRepo(db);
  const projects = createProjectsService({ projects: projectsRepo });
  const deployments = createDeploymentsService({ deployments: deploymentsRepo, publicDomain: config.PUBLIC_DOMAIN });

  const app = new Koa<RequestState>();
  app.silent = true; // errors are logged once, by the request context, with the request id
  app.use(requestContext(logger));
  app.use(problemMiddleware());

  const router = new Router<RequestState>();
  const auth = requireBearer(config.PROJECT_SERVICE_TOKEN);
  const publicBaseUrl = config.PUBLIC_BASE_URL;
  registerProjectRoutes(router, { auth, projects, deployments, publicBaseUrl });
  registerDeploymentRoutes(router, { auth, deployments, publicBaseUrl });
  registerWebhookRoutes(router, { deployments });
  registerOutboxRoutes(router, { auth, outbox: createOutboxRepo(db) });

  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
