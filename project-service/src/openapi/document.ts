import {
  DEPLOYMENT_STATUSES,
  openapiErrors,
  openapiHeaders,
  openapiMetricsScheme,
  openapiOperationalPaths,
  openapiOperationalTags,
  openapiParameters,
  openapiErrorResponse,
  openapiErrorResponses,
  openapiSchemas,
  type OpenApiDocument,
} from '@hosting/shared';
import { addLimitsToDocument } from '@hosting/shared';
import { WEBHOOK_HEADER_OUTCOMES, webhookOutcome } from '../features/deployments/deployment-status.js';

import { activityPaths } from '../features/activity/activity.openapi.js';
import { statsPaths } from '../features/stats/stats.openapi.js';
import { streamPaths } from '../features/stream/stream.openapi.js';
/**
 * The OpenAPI 3.1 document of project-service, served at GET /openapi.json and rendered at GET /docs.
 *
 * It is a superset of the platform's contract (`../shared/spec/project-api.yaml`): the same paths
 * and operationIds (including the contract's `getDepoyment`), the same fields, plus the fields,
 * routes and answers this service adds. The HTTP tests validate every response against both
 * documents, so neither can drift from the code unnoticed.
 */

const ref = (to: string) => ({ $ref: to });
const reqIdParam = ref('#/components/parameters/X-Request-Id');
const reqIdHeader = { 'X-Request-Id': ref('#/components/headers/X-Request-Id') };

/** The webhook's rules as a table, written from webhookOutcome itself (a 409 for `conflict`). */
const STATE_MACHINE = `
| from \\ to | ${DEPLOYMENT_STATUSES.join(' | ')} |
|${' --- |'.repeat(DEPLOYMENT_STATUSES.length + 1)}
${DEPLOYMENT_STATUSES.map((from) => `| **${from}** | ${DEPLOYMENT_STATUSES.map((to) => webhookOutcome(from, to).replace('conflict', '409')).join(' | ')} |`).join('\n')}
`;

export const openapiDocument: OpenApiDocument = {
  openapi: '3.1.0',
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
request's own scheme and host), keeping the other query parameters; \`X-Total-Count\` is the total.
A page past the end is \`200 []\`.

**Events.** Every change is also written, in the same statement, to an outbox that a relay delivers to
aggregator-service (\`GET /outbox/status\` shows how that goes).`,
  },
  tags: [
    { name: 'project', description: 'Projects and triggering their deployments.' },
    { name: 'deployment', description: 'Deployments, their cancellation and the CI webhook.' },
    { name: 'outbox', description: 'Delivery of events to aggregator-service.' },
    { name: 'statistics', description: "Users' deployments per ISO week." },
    ...openapiOperationalTags,
  ],
  security: [{ admin: [] }],
  paths: {
    '/projects': {
      get: {
        tags: ['project'],
        operationId: 'listProjects',
        summary: 'List all projects',
        description:
          'One page of 8 projects in id order, with their flags. A page past the end is `200 []`; a `page` that is not a positive integer is a 400.',
        parameters: [ref('#/components/parameters/Page'), reqIdParam],
        responses: {
          '200': {
            description: 'The page.',
            headers: { ...reqIdHeader, Link: ref('#/components/headers/Link'), 'X-Total-Count': ref('#/components/headers/X-Total-Count') },
            content: { 'application/json': { schema: { type: 'array', items: ref('#/components/schemas/Project'), maxItems: 8 } } },
          },
          ...openapiErrors(400, 401, 500, 503),
        },
      },
    },
    '/projects/{id}': {
      get: {
        tags: ['project'],
        operationId: 'getProject',
        summary: 'Get a project',
        description: 'The project with its flags. Its app secret never appears in any answer.',
        parameters: [ref('#/components/parameters/ProjectId'), reqIdParam],
        responses: {
          '200': {
            description: 'The project.',
            headers: reqIdHeader,
            content: { 'application/json': { schema: ref('#/components/schemas/Project') } },
          },
          ...openapiErrors(400, 401, 404, 500, 503),
        },
      },
    },
    '/projects/{id}/deployment': {
      post: {
        tags: ['project'],
        operationId: 'createProjectDeployment',
        summary: 'Trigger a new deployment for a project',
        description:
          'Creates a deployment with the status `pending` and writes its `deployment.created` event. No body, or `{}`: ' +
          'any field is refused with a 400 naming it. Also at `/projects/{id}/deployments`.\n\n' +
          '**Idempotency.** With an `Idempotency-Key` header, a retry of the same request (same project; either path) ' +
          'within 24 hours answers the first 201 again, with `Idempotent-Replayed: true`, and creates nothing, also when ' +
          'the requests race. The same key with a different request is a 422 (`IdempotencyKeyReusedError`). Keys are ' +
          'per caller. Only creations are remembered: after a 400 or a 404 the same key runs the request again.',
        parameters: [ref('#/components/parameters/ProjectId'), ref('#/components/parameters/Idempotency-Key'), reqIdParam],
        requestBody: ref('#/components/requestBodies/Empty'),
        responses: {
          '201': ref('#/components/responses/DeploymentCreated'),
          '422': ref('#/components/responses/IdempotencyKeyReused'),
          ...openapiErrors(400, 401, 404, 413, 415, 500, 503),
        },
      },
    },
    '/projects/{id}/deployments': {
      post: {
        tags: ['project'],
        operationId: 'createProjectDeploymentAlias',
        summary: 'Trigger a new deployment for a project (alias)',
        description:
          'The same as `POST /projects/{id}/deployment`, at the plural path REST clients expect (`Idempotency-Key` included: a key used on one path replays on the other).',
        parameters: [ref('#/components/parameters/ProjectId'), ref('#/components/parameters/Idempotency-Key'), reqIdParam],
        requestBody: ref('#/components/requestBodies/Empty'),
        responses: {
          '201': ref('#/components/responses/DeploymentCreated'),
          '422': ref('#/components/responses/IdempotencyKeyReused'),
          ...openapiErrors(400, 401, 404, 413, 415, 500, 503),
        },
      },
    },
    '/projects/{id}/secret': {
      post: {
        tags: ['project'],
        operationId: 'rotateProjectSecret',
        summary: 'Issue a new app secret for a project',
        description:
          "Replaces the project's app secret (what its CI presents to the webhook) with a new random one, returned in this " +
          'answer only (`Cache-Control: no-store`): only its SHA-256 digest is kept. The old secret stops working at once. ' +
          'Writes a `project.secret_rotated` event, which carries neither the secret nor its digest. No body, or `{}`.',
        parameters: [ref('#/components/parameters/ProjectId'), reqIdParam],
        requestBody: ref('#/components/requestBodies/Empty'),
        responses: {
          '200': {
            description: 'The new secret. Store it now: it cannot be shown again, only replaced.',
            headers: {
              ...reqIdHeader,
              'Cache-Control': {
                description: 'The answer holds a secret: never stored by a cache.',
                required: true,
                schema: { type: 'string', enum: ['no-store'] },
              },
            },
            content: { 'application/json': { schema: ref('#/components/schemas/SecretRotation') } },
          },
          ...openapiErrors(400, 401, 404, 413, 415, 500, 503),
        },
      },
    },
    '/deployments': {
      get: {
        tags: ['deployment'],
        operationId: 'listDeployments',
        summary: 'List all deployments',
        description: 'One page of 8 deployments in id order, optionally of one project and in some statuses.',
        parameters: [
          ref('#/components/parameters/Page'),
          {
            name: 'projectId',
            in: 'query',
            required: false,
            description: "Only this project's deployments (an unknown project gives `[]`).",
            schema: { type: 'integer', minimum: 1, maximum: 2147483647 },
          },
          {
            name: 'status',
            in: 'query',
            required: false,
            description: 'Only deployments in one of these statuses, comma-separated: `status=pending,building`.',
            style: 'form',
            explode: false,
            schema: { type: 'array', minItems: 1, items: { type: 'string', enum: [...DEPLOYMENT_STATUSES] } },
          },
          reqIdParam,
        ],
        responses: {
          '200': {
            description: 'The page.',
            headers: { ...reqIdHeader, Link: ref('#/components/headers/Link'), 'X-Total-Count': ref('#/components/headers/X-Total-Count') },
            content: { 'application/json': { schema: { type: 'array', items: ref('#/components/schemas/Deployment'), maxItems: 8 } } },
          },
          ...openapiErrors(400, 401, 500, 503),
        },
      },
    },
    '/deployments/{id}': {
      get: {
        tags: ['deployment'],
        operationId: 'getDepoyment',
        summary: 'Get a deployment',
        description:
          "The deployment. (The operationId keeps the platform contract's spelling, `getDepoyment`, so generated clients keep working.)",
        parameters: [ref('#/components/parameters/DeploymentId'), reqIdParam],
        responses: {
          '200': {
            description: 'The deployment.',
            headers: reqIdHeader,
            content: { 'application/json': { schema: ref('#/components/schemas/Deployment') } },
          },
          ...openapiErrors(400, 401, 404, 500, 503),
        },
      },
    },
    '/deployments/{id}/cancel': {
      post: {
        tags: ['deployment'],
        operationId: 'cancelDeployment',
        summary: 'Cancel a deployment',
        description:
          'Cancels an ongoing deployment (`pending`, `building` or `deploying`) and writes its events. Cancelling a ' +
          '`cancelled` deployment is a 200 that changes nothing; a `done` or `failed` one is a 400 (`BadRequestError`). ' +
          'No body, or `{}`.',
        parameters: [ref('#/components/parameters/DeploymentId'), reqIdParam],
        requestBody: ref('#/components/requestBodies/Empty'),
        responses: {
          '200': {
            description: 'The cancelled deployment.',
            headers: reqIdHeader,
            content: { 'application/json': { schema: ref('#/components/schemas/Deployment') } },
          },
          '400': openapiErrorResponse(
            'The deployment is `done` or `failed` and can no longer be cancelled (`BadRequestError`), or bad input (`ValidationError`).',
            { status: 400, message: 'Deployment 42 is done and can no longer be cancelled' },
          ),
          ...openapiErrors(401, 404, 413, 415, 500, 503),
        },
      },
    },
    '/deployment/webhook': {
      post: {
        tags: ['deployment'],
        operationId: 'deploymentStatusUpdate',
        summary: 'Update the status of a deployment',
        description: `For CI systems: reports the status a deployment reached. Authenticated by the **app secret of the
deployment's project** as bearer token (scheme \`webhook\`), not by the admin token.

The state machine: \`pending → building → deploying → done\`, and a sender may skip forward (\`pending → done\`);
\`failed\` and \`cancelled\` from any status that is not final; \`done\`, \`failed\` and \`cancelled\` are final.
What a report of \`to\` does to a deployment in \`from\`:
${STATE_MACHINE}
- **apply**: the deployment moves, its events are written (\`deployment.status_changed\`, and
  \`deployment.succeeded\`/\`failed\`/\`cancelled\` on reaching one); on \`done\`, \`deployedIn\` is set (whole seconds
  since creation, by the database clock) and a project without a URL gets one (exactly once).
- **same**: it is already in that status (a repeated delivery): 200, nothing changes, no event.
- **stale**: the report is behind the current status, a final one included (deliveries arrive out of order: a
  late \`building\` after \`done\` is the past, and a sender that retries non-2xx answers must not retry it): 200,
  nothing changes.
- **409**: one final status reported over another (\`failed\` after \`done\`, \`done\` after a cancel): a real
  contradiction the sender should hear about (\`ConflictError\`); nothing changes.

The \`X-Webhook-Outcome\` header of a 200 says which of the three it was; \`webhook_outcomes_total{outcome}\` on
\`/metrics\` counts the same words, plus \`conflict\` (the 409) and \`rejected\` (any other error). Concurrent deliveries never lose or
double a transition. A missing or wrong secret **and** an unknown deployment id are the same 401, so the endpoint
tells a guesser nothing.`,
        security: [{ webhook: [] }],
        parameters: [reqIdParam],
        requestBody: {
          required: true,
          description: 'The deployment and the status it reached; no other field (at most 4 kB).',
          content: {
            'application/json': {
              schema: ref('#/components/schemas/WebhookRequest'),
              example: { id: 1, status: 'building' },
            },
          },
        },
        responses: {
          '200': {
            description: 'The deployment as it is now, whether or not this report changed it.',
            headers: {
              ...reqIdHeader,
              'X-Webhook-Outcome': {
                description:
                  'What this report did: `apply` (the deployment moved), `same` (already in that status), `stale` (behind the current status; nothing changed).',
                required: true,
                schema: { type: 'string', enum: [...WEBHOOK_HEADER_OUTCOMES] },
              },
            },
            content: { 'application/json': { schema: ref('#/components/schemas/Deployment') } },
          },
          '401': openapiErrorResponse(
            'Missing or wrong app secret, or an unknown deployment id: the same answer for both (`UnauthorizedError`).',
            { status: 401, message: 'Missing or invalid credentials' },
            { 'WWW-Authenticate': ref('#/components/headers/WWW-Authenticate') },
          ),
          '409': openapiErrorResponse(
            'The deployment is in a final status (`done`, `failed`, `cancelled`) and the report is another final one (`ConflictError`). Nothing changed.',
            { status: 409, message: 'Deployment 42 is done, a final status; it cannot become failed' },
          ),
          ...openapiErrors(400, 413, 415, 500, 503),
        },
      },
    },
    '/outbox/status': {
      get: {
        tags: ['outbox'],
        operationId: 'getOutboxStatus',
        summary: 'How delivery to the aggregator is going',
        description:
          'The events waiting in the outbox for delivery to aggregator-service: how many, how old the oldest is, the most attempts any has had, and the last error.',
        parameters: [reqIdParam],
        responses: {
          '200': {
            description: 'The backlog.',
            headers: reqIdHeader,
            content: { 'application/json': { schema: ref('#/components/schemas/OutboxStatus') } },
          },
          '404': openapiErrorResponse("A user's token (JWT mode): operators only, answered as an unknown route (`NotFoundError`).", {
            status: 404,
            message: 'No route for GET /outbox/status',
          }),
          ...openapiErrors(400, 401, 500, 503),
        },
      },
    },
    '/ops/busy-projects': {
      get: {
        tags: ['operations'],
        operationId: 'listBusyProjects',
        summary: 'Projects with many deployments in progress',
        description:
          'Projects with more than `threshold` deployments in progress (`pending`, `building` or `deploying`) at once, ' +
          'busiest first, at most 100: a stuck CI or a loop. The gauge `projects_over_ongoing_threshold` of `/metrics` counts them.',
        parameters: [
          {
            name: 'threshold',
            in: 'query',
            required: false,
            description: 'List projects with more ongoing deployments than this. Default: `ONGOING_DEPLOYMENTS_THRESHOLD` (3).',
            schema: { type: 'integer', minimum: 1, maximum: 2147483647 },
          },
          reqIdParam,
        ],
        responses: {
          '200': {
            description: 'The busy projects.',
            headers: reqIdHeader,
            content: { 'application/json': { schema: { type: 'array', maxItems: 100, items: ref('#/components/schemas/BusyProject') } } },
          },
          '404': openapiErrorResponse("A user's token (JWT mode): operators only, answered as an unknown route (`NotFoundError`).", {
            status: 404,
            message: 'No route for GET /ops/busy-projects',
          }),
          ...openapiErrors(400, 401, 500, 503),
        },
      },
    },
    ...openapiOperationalPaths('admin'),
    ...statsPaths,
    ...activityPaths,
    ...streamPaths,
  },
  components: {
    schemas: {
      ...openapiSchemas,
      DeploymentStatus: {
        type: 'string',
        enum: [...DEPLOYMENT_STATUSES],
        description: '`pending`, `building`, `deploying` are ongoing; `done`, `failed`, `cancelled` are final.',
      },
      Project: {
        type: 'object',
        description: 'A project, with its flags. Its app secret is never shown.',
        properties: {
          id: { type: 'integer', minimum: 1 },
          name: { type: 'string' },
          url: {
            type: ['string', 'null'],
            format: 'uri',
            description:
              "The public URL, `https://<name>-<random>.<PUBLIC_DOMAIN>`; null until the project's first successful deployment, then never changed.",
          },
          userId: { type: 'integer', minimum: 1, description: 'The owner.' },
          createdAt: { type: 'string', format: 'date-time' },
          hasOngoingDeployment: { type: 'boolean', description: 'A deployment is `pending`, `building` or `deploying`.' },
          hasPendingDeployment: {
            type: 'boolean',
            description: "The platform contract's name for `hasOngoingDeployment`: the same value.",
          },
          hasLiveDeployment: { type: 'boolean', description: 'At least one deployment is `done`.' },
        },
        required: ['id', 'name', 'url', 'userId', 'createdAt', 'hasOngoingDeployment', 'hasPendingDeployment', 'hasLiveDeployment'],
        additionalProperties: false,
        examples: [
          {
            id: 1,
            name: 'shop',
            url: 'https://shop-3f9a1c0b2e.hosting.localhost',
            userId: 1,
            createdAt: '2026-11-20T10:00:00.000Z',
            hasOngoingDeployment: false,
            hasPendingDeployment: false,
            hasLiveDeployment: true,
          },
        ],
      },
      Deployment: {
        type: 'object',
        properties: {
          id: { type: 'integer', minimum: 1 },
          projectId: { type: 'integer', minimum: 1 },
          status: ref('#/components/schemas/DeploymentStatus'),
          deployedIn: {
            type: ['integer', 'null'],
            minimum: 0,
            description: 'Whole seconds from creation to `done`, by the database clock; null unless `done`.',
          },
          createdAt: { type: 'string', format: 'date-time' },
          updatedAt: { type: 'string', format: 'date-time', description: 'The last status change.' },
        },
        required: ['id', 'projectId', 'status', 'deployedIn', 'createdAt', 'updatedAt'],
        additionalProperties: false,
        examples: [
          {
            id: 7,
            projectId: 1,
            status: 'done',
            deployedIn: 42,
            createdAt: '2026-11-20T10:00:00.000Z',
            updatedAt: '2026-11-20T10:00:42.000Z',
          },
        ],
      },
      WebhookRequest: {
        type: 'object',
        properties: {
          id: { type: 'integer', minimum: 1, maximum: 2147483647, description: 'id of the deployment to update' },
          status: ref('#/components/schemas/DeploymentStatus'),
        },
        required: ['id', 'status'],
        additionalProperties: false,
      },
      OutboxStatus: {
        type: 'object',
        properties: {
          undelivered: { type: 'integer', minimum: 0, description: 'Events not yet delivered.' },
          oldestUndeliveredAt: {
            type: ['string', 'null'],
            format: 'date-time',
            description: 'When the oldest of them happened; null when none waits.',
          },
          oldestUndeliveredAgeSeconds: { type: 'integer', minimum: 0, description: 'Its age in seconds; 0 when none waits.' },
          maxAttempts: { type: 'integer', minimum: 0, description: 'The most delivery attempts any waiting event has had.' },
          lastError: { type: ['string', 'null'], description: 'The last delivery error of a waiting event, if any.' },
        },
        required: ['undelivered', 'oldestUndeliveredAt', 'oldestUndeliveredAgeSeconds', 'maxAttempts', 'lastError'],
        additionalProperties: false,
      },
      SecretRotation: {
        type: 'object',
        description: "A project's new app secret, shown once.",
        properties: {
          projectId: { type: 'integer', minimum: 1 },
          appSecret: {
            type: 'string',
            minLength: 32,
            description: 'The new app secret (32 characters of base64url, 192 random bits). The old one no longer works.',
          },
          rotatedAt: {
            type: 'string',
            format: 'date-time',
            description: 'When it changed, by the database clock (as in the `project.secret_rotated` event).',
          },
        },
        required: ['projectId', 'appSecret', 'rotatedAt'],
        additionalProperties: false,
      },
      BusyProject: {
        type: 'object',
        properties: {
          projectId: { type: 'integer', minimum: 1 },
          projectName: { type: 'string' },
          userId: { type: 'integer', minimum: 1, description: 'The owner.' },
          ongoing: { type: 'integer', minimum: 1, description: 'Deployments `pending`, `building` or `deploying` right now.' },
        },
        required: ['projectId', 'projectName', 'userId', 'ongoing'],
        additionalProperties: false,
      },
      Pagination: {
        type: 'string',
        description: 'RFC 8288 links to other pages, absolute URLs keeping the other query parameters.',
        examples: [
          '<http://localhost:3000/projects?page=1>; rel="first", <http://localhost:3000/projects?page=1>; rel="prev previous", <http://localhost:3000/projects?page=3>; rel="next", <http://localhost:3000/projects?page=3>; rel="last"',
        ],
      },
    },
    parameters: {
      ...openapiParameters,
      Page: {
        name: 'page',
        in: 'query',
        required: false,
        description: 'The page, from 1 (at most 1,000,000). Not a positive integer: 400.',
        schema: { type: 'integer', minimum: 1, maximum: 1000000, default: 1 },
      },
      'Idempotency-Key': {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description:
          'Your unique key for this request (1–255 printable ASCII characters; a UUID is a good choice). Retrying with it ' +
          'within 24 hours answers the first answer again instead of creating another deployment; reusing it for a ' +
          'different request is a 422. Anything else in the header is a 400 naming `header.Idempotency-Key`.',
        schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[ -~]+$' },
      },
      ProjectId: {
        name: 'id',
        in: 'path',
        required: true,
        description: 'The project id. Not a positive integer: 400.',
        schema: { type: 'integer', minimum: 1, maximum: 2147483647 },
      },
      DeploymentId: {
        name: 'id',
        in: 'path',
        required: true,
        description: 'The deployment id. Not a positive integer: 400.',
        schema: { type: 'integer', minimum: 1, maximum: 2147483647 },
      },
    },
    headers: {
      ...openapiHeaders,
      Link: {
        description: 'The pagination links: `first`, `prev previous` (not on page 1), `next` (not on the last page), `last`.',
        required: true,
        schema: { type: 'string' },
      },
      'X-Total-Count': {
        description: 'How many items all pages hold together.',
        required: true,
        schema: { type: 'integer', minimum: 0 },
      },
    },
    requestBodies: {
      Empty: {
        required: false,
        description: 'Nothing, or `{}`: this operation takes no input, and any field is refused with a 400 naming it.',
        content: { 'application/json': { schema: { type: 'object', maxProperties: 0 } } },
      },
    },
    responses: {
      ...openapiErrorResponses({ notFound: 'Deployment 42 not found' }),
      IdempotencyKeyReused: openapiErrorResponse(
        'The `Idempotency-Key` was already used, within 24 hours, for a different request (another project) (`IdempotencyKeyReusedError`). Nothing was created.',
        {
          status: 422,
          name: 'IdempotencyKeyReusedError',
          message:
            'Idempotency-Key "order-42" was already used for a different request (another project or body); retry with the same request, or use a new key',
        },
      ),
      DeploymentCreated: {
        description: 'The new deployment, `pending`.',
        headers: {
          ...reqIdHeader,
          Location: { description: 'The new deployment: `/deployments/{id}`.', required: true, schema: { type: 'string' } },
          'Idempotent-Replayed': {
            description:
              'Only on a replay: `true` when this is the answer first given to an earlier request with the same `Idempotency-Key`.',
            required: false,
            schema: { type: 'string', enum: ['true'] },
          },
        },
        content: { 'application/json': { schema: ref('#/components/schemas/Deployment') } },
      },
    },
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
      metrics: openapiMetricsScheme,
    },
  },
};

// 429 (rate limits) and 503 (request timeout) on every operation behind a credential: shared/src/http/limits-openapi.ts.
addLimitsToDocument(openapiDocument);
