import type { Middleware } from 'koa';
import { jsonBody, parseWith } from '@hosting/shared';
import { setPageHeaders } from '../../http/pagination.js';
import { ownerOf } from '../../http/scope.js';
import { causeOf, type AppRouter } from '../../http/types.js';
import { deploymentIdParams, deploymentJson, listDeploymentsQuery, noInputBody } from './deployments.schema.js';
import type { DeploymentsService } from './deployments.service.js';
import { idempotencyKeyHeader, requestFingerprint } from './idempotency.js';
import { projectIdParams } from '../projects/projects.schema.js';

/** The operation a key's fingerprint names: both paths of the route are the same operation. */
const CREATE_DEPLOYMENT = 'POST /projects/:id/deployment';

/** `publicBaseUrl` (PUBLIC_BASE_URL): the base of the Link headers' URLs; unset, the request's host. */
export function registerDeploymentRoutes(
  router: AppRouter,
  deps: { auth: Middleware; deployments: DeploymentsService; publicBaseUrl: string | undefined },
) {
  const { auth, deployments } = deps;

  /**
   * Without `Idempotency-Key`, one statement as ever. With one, the first answer is remembered
   * for 24 hours for this caller (the principal's key) and replayed with `Idempotent-Replayed`.
   */
  const createDeployment: Parameters<AppRouter['post']>[2] = async (ctx) => {
    const { id } = parseWith(projectIdParams, ctx.params, 'path');
    const body = parseWith(noInputBody, ctx.request.body ?? {}, 'body');
    const cause = causeOf(ctx, 'api');
    const owner = ownerOf(ctx.state);
    if (ctx.headers['idempotency-key'] === undefined) {
      const deployment = await deployments.create(id, cause, owner);
      ctx.status = 201;
      ctx.set('Location', `/deployments/${deployment.id}`);
      ctx.body = deploymentJson(deployment);
      return;
    }
    const key = parseWith(idempotencyKeyHeader, { 'Idempotency-Key': ctx.headers['idempotency-key'] }, 'header')['Idempotency-Key']!;
    const scope = ctx.state.principal?.key;
    if (scope === undefined) throw new Error('createDeployment: no principal after authentication');
    const { deployment, status, replayed } = await deployments.createIdempotent(
      id,
      cause,
      {
        scope,
        key,
        fingerprint: requestFingerprint(CREATE_DEPLOYMENT, id, body),
      },
      owner,
    );
    ctx.status = status;
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
    ctx.set('Location', `/deployments/${deployment.id}`);
    ctx.body = deploymentJson(deployment);
  };
  router.post('/projects/:id/deployment', auth, jsonBody('16kb'), createDeployment);
  router.post('/projects/:id/deployments', auth, jsonBody('16kb'), createDeployment);

  router.get('/deployments', auth, async (ctx) => {
    const { page, projectId, status } = parseWith(listDeploymentsQuery, ctx.query, 'query');
    const owner = ownerOf(ctx.state);
    const result = await deployments.list({ projectId, statuses: status, ...(owner === undefined ? {} : { owner }) }, page);
    setPageHeaders(ctx, deps.publicBaseUrl, page, result.total, { projectId, status });
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
