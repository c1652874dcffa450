import { bearerToken, ConflictError, jsonBody, parseWith, secretKey, UnauthorizedError, type HttpLimits } from '@hosting/shared';
import { causeOf, type AppRouter } from '../../http/types.js';
import { WEBHOOK_HEADER_OUTCOMES } from '../deployments/deployment-status.js';
import { deploymentJson } from '../deployments/deployments.schema.js';
import type { DeploymentsService } from '../deployments/deployments.service.js';
import type { ProjectMetrics } from '../../metrics.js';
import { webhookBody } from './webhook.schema.js';

/**
 * `POST /deployment/webhook`, called by CI systems with the project's app secret as bearer
 * token. The token is checked for presence before the body is read, and against the project's
 * secret once the deployment is known. Its per-credential rate limit is keyed by a digest of the
 * presented secret (never the secret) and counted before the body is read; a wrong secret's 401
 * counts against the client address (the app's failed-authentication guard).
 */
export function registerWebhookRoutes(
  router: AppRouter,
  deps: { deployments: DeploymentsService; metrics: ProjectMetrics; limits: HttpLimits },
) {
  const secretOf = (ctx: { get(field: string): string }) => secretKey('app-secret', bearerToken(ctx.get('Authorization'))!);
  const perSecret = deps.limits.perCredentialKeyedBy(secretOf);
  // The secret can only be checked against the database: cap that work while it is unverified.
  const unverified = deps.limits.unverifiedWorkKeyedBy(secretOf);
  router.post(
    '/deployment/webhook',
    async (ctx, next) => {
      // The metric's label is the header's word (deployment-status.ts WEBHOOK_OUTCOMES): one vocabulary.
      try {
        await next();
        const answered = WEBHOOK_HEADER_OUTCOMES.find((o) => o === ctx.response.get('X-Webhook-Outcome'));
        deps.metrics.webhookOutcome(answered ?? 'rejected');
      } catch (err) {
        deps.metrics.webhookOutcome(err instanceof ConflictError ? 'conflict' : 'rejected');
        throw err;
      }
    },
    async (ctx, next) => {
      if (bearerToken(ctx.get('Authorization') || undefined) === undefined) throw new UnauthorizedError();
      await next();
    },
    perSecret,
    jsonBody('4kb'),
    unverified,
    async (ctx) => {
      const secret = bearerToken(ctx.get('Authorization'))!;
      const { id, status } = parseWith(webhookBody, ctx.request.body, 'body');
      const { deployment, outcome } = await deps.deployments.reportStatus(id, status, secret, causeOf(ctx, 'webhook'));
      ctx.set('X-Webhook-Outcome', outcome);
      ctx.body = deploymentJson(deployment);
    },
  );
}
