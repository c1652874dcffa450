import type { Middleware } from 'koa';
import { jsonBody, parseWith, requestBaseUrl } from '@hosting/shared';
import { z } from 'zod';
import { linkHeader, pageLinks, pageParam } from '../../http/pagination.js';
import { idParams, positiveId } from '../../http/params.js';
import { causeOf, type AppRouter } from '../../http/types.js';
import { deploymentJson } from '../deployments/deployments.schema.js';
import type { DeploymentsService } from '../deployments/deployments.service.js';
import { projectJson } from './projects.schema.js';
import type { ProjectsService } from './projects.service.js';

/** Creating a deployment takes no input: an empty body or `{}`. Any field is refused by name. */
const createDeploymentBody = z.object({}).strict();

export function registerProjectRoutes(
  router: AppRouter,
  deps: { auth: Middleware; projects: ProjectsService; deployments: DeploymentsService; publicBaseUrl?: string; ongoingThreshold: number },
) {
  const { auth, projects, deployments } = deps;

  router.get('/projects', auth, async (ctx) => {
    const { page } = parseWith(z.object({ page: pageParam }), { page: ctx.query.page }, 'query');
    const result = await projects.list(page);
    ctx.set('Link', linkHeader(requestBaseUrl(ctx, deps.publicBaseUrl), ctx.path, new URLSearchParams(ctx.querystring), pageLinks(page, result.total)));
    ctx.set('X-Total-Count', String(result.total));
    ctx.body = result.projects.map(projectJson);
  });

  router.get('/projects/:id', auth, async (ctx) => {
    const { id } = parseWith(idParams, ctx.params, 'path');
    ctx.body = projectJson(await projects.get(id));
  });

  /** For an operator: projects with more deployments in progress than `threshold` (default: the alert's). */
  router.get('/ops/busy-projects', auth, async (ctx) => {
    const { threshold } = parseWith(z.object({ threshold: positiveId.optional() }), { threshold: ctx.query.threshold }, 'query');
    const busy = await projects.busy(threshold ?? deps.ongoingThreshold);
    ctx.body = busy.map((p) => ({ projectId: p.id, projectName: p.name, userId: p.user_id, ongoing: p.ongoing }));
  });

  const createDeployment: Parameters<AppRouter['post']>[2] = async (ctx) => {
    const { id } = parseWith(idParams, ctx.params, 'path');
    parseWith(createDeploymentBody, ctx.request.body ?? {}, 'body');
    const deployment = await deployments.create(id, causeOf(ctx, 'api'));
    ctx.status = 201;
    ctx.set('Location', `/deployments/${deployment.id}`);
    ctx.body = deploymentJson(deployment);
  };
  router.post('/projects/:id/deployment', auth, jsonBody('16kb'), createDeployment);
  router.post('/projects/:id/deployments', auth, jsonBody('16kb'), createDeployment);
}
