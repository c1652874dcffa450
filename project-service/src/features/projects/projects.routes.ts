import type { Middleware } from 'koa';
import { jsonBody, parseWith, requestBaseUrl } from '@hosting/shared';
import { linkHeader, pageLinks } from '../../http/pagination.js';
import { adminOnly, ownerOf } from '../../http/scope.js';
import { causeOf, type AppRouter } from '../../http/types.js';
import { deploymentJson, noInputBody } from '../deployments/deployments.schema.js';
import type { DeploymentsService } from '../deployments/deployments.service.js';
import { idempotencyKeyHeader, requestFingerprint } from '../deployments/idempotency.js';
import {
  busyProjectJson,
  busyProjectsQuery,
  listProjectsQuery,
  projectIdParams,
  projectJson,
  secretRotationJson,
} from './projects.schema.js';
import type { ProjectsService } from './projects.service.js';

/** The operation a key's fingerprint names: both paths of the route are the same operation. */
const CREATE_DEPLOYMENT = 'POST /projects/:id/deployment';

export function registerProjectRoutes(
  router: AppRouter,
  deps: { auth: Middleware; projects: ProjectsService; deployments: DeploymentsService; publicBaseUrl?: string; ongoingThreshold: number },
) {
  const { auth, projects, deployments } = deps;

  router.get('/projects', auth, async (ctx) => {
    const { page } = parseWith(listProjectsQuery, { page: ctx.query.page }, 'query');
    const result = await projects.list(page, ownerOf(ctx.state));
    ctx.set(
      'Link',
      linkHeader(requestBaseUrl(ctx, deps.publicBaseUrl), ctx.path, new URLSearchParams(ctx.querystring), pageLinks(page, result.total)),
    );
    ctx.set('X-Total-Count', String(result.total));
    ctx.body = result.projects.map(projectJson);
  });

  router.get('/projects/:id', auth, async (ctx) => {
    const { id } = parseWith(projectIdParams, ctx.params, 'path');
    ctx.body = projectJson(await projects.get(id, ownerOf(ctx.state)));
  });

  /** For an operator: projects with more deployments in progress than `threshold` (default: the alert's). Not for a user's token. */
  router.get('/ops/busy-projects', auth, adminOnly, async (ctx) => {
    const { threshold } = parseWith(busyProjectsQuery, { threshold: ctx.query.threshold }, 'query');
    const busy = await projects.busy(threshold ?? deps.ongoingThreshold);
    ctx.body = busy.map((p) => busyProjectJson(p));
  });

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

  /** Issues a new app secret, shown in this answer only; the old one stops working. Not for a user's token. */
  router.post('/projects/:id/secret', auth, adminOnly, jsonBody('16kb'), async (ctx) => {
    const { id } = parseWith(projectIdParams, ctx.params, 'path');
    parseWith(noInputBody, ctx.request.body ?? {}, 'body');
    const rotated = await projects.rotateSecret(id, causeOf(ctx, 'api'));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = secretRotationJson(rotated);
  });
}
