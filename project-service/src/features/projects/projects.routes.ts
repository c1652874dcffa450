import type { Middleware } from 'koa';
import { jsonBody, parseWith } from '@hosting/shared';
import { setPageHeaders } from '../../http/pagination.js';
import { adminOnly, ownerOf } from '../../http/scope.js';
import { causeOf, type AppRouter } from '../../http/types.js';
import { noInputBody } from '../deployments/deployments.schema.js';
import {
  busyProjectJson,
  busyProjectsQuery,
  listProjectsQuery,
  projectIdParams,
  projectJson,
  secretRotationJson,
} from './projects.schema.js';
import type { ProjectsService } from './projects.service.js';

/**
 * `publicBaseUrl` (PUBLIC_BASE_URL): the base of the Link headers' URLs; unset, the request's host.
 * `ongoingThreshold` (ONGOING_DEPLOYMENTS_THRESHOLD): busy-projects' default threshold.
 */
export function registerProjectRoutes(
  router: AppRouter,
  deps: { auth: Middleware; projects: ProjectsService; publicBaseUrl: string | undefined; ongoingThreshold: number },
) {
  const { auth, projects } = deps;

  router.get('/projects', auth, async (ctx) => {
    const { page } = parseWith(listProjectsQuery, { page: ctx.query.page }, 'query');
    const result = await projects.list(page, ownerOf(ctx.state));
    setPageHeaders(ctx, deps.publicBaseUrl, page, result.total);
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

  /** Issues a new app secret, shown in this answer only; the old one stops working. Not for a user's token. */
  router.post('/projects/:id/secret', auth, adminOnly, jsonBody('16kb'), async (ctx) => {
    const { id } = parseWith(projectIdParams, ctx.params, 'path');
    parseWith(noInputBody, ctx.request.body ?? {}, 'body');
    const rotated = await projects.rotateSecret(id, causeOf(ctx, 'api'));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = secretRotationJson(rotated);
  });
}
