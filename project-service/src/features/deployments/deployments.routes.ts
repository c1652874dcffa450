import type { Middleware } from 'koa';
import { jsonBody, parseWith, requestBaseUrl } from '@hosting/shared';
import { linkHeader, pageLinks } from '../../http/pagination.js';
import { ownerOf } from '../../http/scope.js';
import { causeOf, type AppRouter } from '../../http/types.js';
import { deploymentIdParams, deploymentJson, listDeploymentsQuery, noInputBody } from './deployments.schema.js';
import type { DeploymentsService } from './deployments.service.js';

export function registerDeploymentRoutes(
  router: AppRouter,
  deps: { auth: Middleware; deployments: DeploymentsService; publicBaseUrl?: string },
) {
  const { auth, deployments } = deps;

  router.get('/deployments', auth, async (ctx) => {
    const { page, projectId, status } = parseWith(listDeploymentsQuery, ctx.query, 'query');
    const owner = ownerOf(ctx.state);
    const result = await deployments.list({ projectId, statuses: status, ...(owner === undefined ? {} : { owner }) }, page);
    ctx.set(
      'Link',
      linkHeader(requestBaseUrl(ctx, deps.publicBaseUrl), ctx.path, new URLSearchParams(ctx.querystring), pageLinks(page, result.total)),
    );
    ctx.set('X-Total-Count', String(result.total));
    ctx.body = result.deployments.map(deploymentJson);
  });

  router.get('/deployments/:id', auth, async (ctx) => {
    const { id } = parseWith(deploymentIdParams, ctx.params, 'path');
    ctx.body = deploymentJson(await deployments.get(id, ownerOf(ctx.state)));
  });

  router.post('/deployments/:id/cancel', auth, jsonBody('16kb'), async (ctx) => {
    const { id } = parseWith(deploymentIdParams, ctx.params, 'path');
    parseWith(noInputBody, ctx.request.body ?? {}, 'body');
    const { deployment } = await deployments.cancel(id, causeOf(ctx, 'api'), ownerOf(ctx.state));
    ctx.body = deploymentJson(deployment);
  });
}
