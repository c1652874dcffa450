import { buildOpenApiDocument, type OpenApiDocument } from '@hosting/shared';
import { outboxApi } from '../events/outbox.api.js';
import { activityApi } from '../features/activity/activity.api.js';
import { deploymentsApi } from '../features/deployments/deployments.api.js';
import { projectsApi } from '../features/projects/projects.api.js';
import { statsApi } from '../features/stats/stats.api.js';
import { streamApi } from '../features/stream/stream.api.js';
import { webhookApi } from '../features/webhooks/webhook.api.js';

/**
 * The OpenAPI 3.1 document of project-service, served at GET /openapi.json and rendered at GET /docs:
 * the features' route tables (the zod schemas the routes parse and answer with) and what both
 * services share (shared/src/http/openapi.ts).
 *
 * It is a superset of the platform's contract (`../shared/spec/project-api.yaml`): the same paths
 * and operationIds (including the contract's `getDepoyment`), the same fields, plus the fields,
 * routes and answers this service adds. The HTTP tests validate every response against both
 * documents, so neither can drift from the code unnoticed.
 */
export const openapiDocument: OpenApiDocument = buildOpenApiDocument({
  info: {
    title: 'project-service',
    version: '1.0.0',
    summary: 'Projects, deployments and the deployment-status webhook of the hosting platform.',
    description: `The back end the admin panel and the CI systems talk to. It honours the platform's API contract
(\`project-api.yaml\`: same paths, operationIds and fields) and extends it.

**Authentication.** Every route takes \`Authorization: Bearer <PROJECT_SERVICE_TOKEN>\` (scheme \`admin\`),
except the webhook, which takes the project's app secret (scheme \`webhook\`), \`/metrics\` (the service token
or \`METRICS_TOKEN\`), and \`/healthz\`, \`/readyz\`, \`/openapi.json\` and \`/docs\`, which take none.
With JWT mode on (\`AUTH_JWT_JWKS_URL\`, \`AUTH_JWT_ISSUER\`, \`AUTH_JWT_AUDIENCE\`), scheme \`admin\` also takes an
access token of that OpenID Connect provider (e.g. Auth0): one with the admin claim sees everything, like the
service token; a user's token sees and acts on that user's projects, deployments, statistics, activity and streams
only. Another user's resource is a 404 identical to a missing one, and the operator routes (\`/outbox/status\`,
\`/ops/busy-projects\`, \`POST /projects/{id}/secret\`) a 404 like an unknown route. A token that fails verification or maps to no user is the same 401 as
no token; when the provider's keys cannot be fetched, a 503.

**Errors.** Every error is JSON (\`application/json\`, or \`application/problem+json\` when \`Accept\` asks for it)
with the contract's \`name\` and \`message\` plus RFC 9457's \`type\`, \`title\`, \`status\`, \`detail\`, the
\`requestId\`, and for validation errors \`issues: [{ path, message }]\` (see the \`Error\` schema). Besides the
answers listed per operation: an unknown route is a 404, a wrong method a 405 with \`Allow\`, and on every route
but the open ones and \`/metrics\` a \`Host\` (or trusted \`X-Forwarded-Host\`) that is not \`hostname[:port]\` is a 400
(\`BadRequestError\`).

**Caching.** Every answer of a route behind a credential (errors and unknown routes included) carries
\`Cache-Control: private, no-store\` (a live stream \`private, no-store, no-transform\`; a new secret \`no-store\`):
no cache keeps one caller's data, or its links, for another.

**Request ids.** Every answer carries \`X-Request-Id\`: yours when it is 1–128 characters of \`A-Za-z0-9._:-\`,
else a generated uuid. It is in the log line of the request and in the events the request causes.

**Paging.** Lists are pages of 8 in id order (\`?page=N\`, from 1). \`Link\` names \`first\`, \`prev previous\`,
\`next\` and \`last\` with absolute URLs on \`PUBLIC_BASE_URL\` (required in production; elsewhere, unset, the
request's own scheme and host), carrying the list's own filters (parameters it does not read are not echoed);
\`X-Total-Count\` is the total.
A page past the end is \`200 []\`.

**Events.** Every change is also written, in the same statement, to an outbox that a relay delivers to
aggregator-service (\`GET /outbox/status\` shows how that goes).`,
  },
  tags: [
    { name: 'project', description: 'Projects and triggering their deployments.' },
    { name: 'deployment', description: 'Deployments, their cancellation and the CI webhook.' },
    { name: 'outbox', description: 'Delivery of events to aggregator-service.' },
    { name: 'statistics', description: "Users' deployments per ISO week." },
  ],
  tokenScheme: 'admin',
  securitySchemes: {
    admin: {
      type: 'http',
      scheme: 'bearer',
      description:
        '`PROJECT_SERVICE_TOKEN`: the admin token of the panel and other trusted callers. With JWT mode on, also an access token ' +
        '(a JWT) of the configured OpenID Connect provider: with the admin claim (default: `permissions` containing `admin`) it sees ' +
        "everything; otherwise it must map to one of our users (linked subject, or verified email) and sees only that user's data.",
    },
    webhook: {
      type: 'http',
      scheme: 'bearer',
      description: "The app secret of the deployment's project (only `POST /deployment/webhook` takes it).",
    },
  },
  paths: { ...projectsApi, ...deploymentsApi, ...webhookApi, ...outboxApi, ...statsApi, ...activityApi, ...streamApi },
  notFoundExample: 'Deployment 42 not found',
});
