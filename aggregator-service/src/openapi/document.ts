import { z } from 'zod';
import {
  EVENT_NAMES,
  EVENT_PAYLOADS,
  openapiErrors,
  openapiHeaders,
  openapiMetricsScheme,
  openapiOperationalPaths,
  openapiOperationalTags,
  openapiParameters,
  openapiErrorResponse,
  openapiErrorResponses,
  openapiSchemas,
  type EventName,
  type JsonSchema,
  type OpenApiDocument,
} from '@hosting/shared';
import { addLimitsToDocument } from '@hosting/shared';
import { MAX_BATCH_EVENTS, MAX_EVENT_BYTES } from '../features/events/batch.js';
import { DEFAULT_LIMIT, INT4_MAX, MAX_LIMIT } from '../features/events/events.schema.js';

import { activityPaths } from '../features/activity/activity.openapi.js';
import { exportPaths } from '../features/export/export.openapi.js';
/**
 * The OpenAPI 3.1 document of aggregator-service, served at GET /openapi.json and rendered at GET /docs.
 *
 * The catalogue's payload schemas are generated from the zod schemas both services validate
 * with (shared/src/events/envelope.ts), so the document cannot describe another catalogue than
 * the one the code enforces. The HTTP tests validate every response against this document.
 */

const ref = (to: string) => ({ $ref: to });
const reqIdParam = ref('#/components/parameters/X-Request-Id');
const reqIdHeader = { 'X-Request-Id': ref('#/components/headers/X-Request-Id') };

const PAYLOAD_DESCRIPTIONS: Record<EventName, string> = {
  'deployment.created': 'A deployment was created (status `pending`).',
  'deployment.status_changed':
    'Every applied status change, from the webhook or a cancel: `from` → `to`; `deployedIn` is null unless `to` is `done`.',
  'deployment.succeeded': 'A deployment reached `done`; `deployedIn` is whole seconds from creation, by the database clock.',
  'deployment.failed': 'A deployment reached `failed`.',
  'deployment.cancelled': 'A deployment reached `cancelled`, through the cancel route (`api`) or the webhook.',
  'project.url_assigned': 'A project got its public URL with its first successful deployment.',
  'project.secret_rotated':
    "A project's app secret was replaced (`POST /projects/{id}/secret`). No `deploymentId`; never the secret nor its digest (the payload admits no other field).",
  'project.updated':
    'A project\'s name or creation date was changed by `npm run seed -- --overwrite` (`source: "seed"`, `requestId: null`): `changes` holds each field\'s `from` and `to`. Never its URL, owner or secret.',
  'user.updated':
    'A user\'s email, username or creation date was changed by `npm run seed -- --overwrite` (`source: "seed"`, `requestId: null`): `changes` holds each field\'s `from` and `to`. No project.',
};

/** `deployment.status_changed` → `DeploymentStatusChangedPayload`. */
function payloadSchemaName(name: string): string {
  return `${name
    .split(/[._]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}Payload`;
}

/** The catalogue's payload schemas, from zod, as JSON Schema 2020-12 (OpenAPI 3.1's dialect). */
function catalogueSchemas(): Record<string, JsonSchema> {
  return Object.fromEntries(
    EVENT_NAMES.map((name) => {
      const { $schema: _dialect, ...schema } = z.toJSONSchema(EVENT_PAYLOADS[name], { target: 'draft-2020-12', io: 'input' }) as Record<
        string,
        unknown
      >;
      return [payloadSchemaName(name), { ...schema, title: `${name} payload`, description: PAYLOAD_DESCRIPTIONS[name] } as JsonSchema];
    }),
  );
}

const CATALOGUE = `
| name | when | payload beyond the common fields |
| --- | --- | --- |
| \`deployment.created\` | a deployment is created | \`status: "pending"\` |
| \`deployment.status_changed\` | every applied transition (webhook or cancel) | \`from\`, \`to\`, \`deployedIn\` (null unless \`to\` is done) |
| \`deployment.succeeded\` | a deployment reaches \`done\` | \`deployedIn\` |
| \`deployment.failed\` | a deployment reaches \`failed\` | \`from\` |
| \`deployment.cancelled\` | a deployment reaches \`cancelled\` | \`from\` |
| \`project.url_assigned\` | a project's first successful deployment gives it its URL | \`url\` |
| \`project.secret_rotated\` | a project's app secret is replaced | \`rotatedAt\`; no \`deploymentId\`, never the secret |
| \`project.updated\` | \`npm run seed -- --overwrite\` changes a project's name or creation date | \`changes\` (\`{ field: { from, to } }\`); no \`deploymentId\` |
| \`user.updated\` | \`npm run seed -- --overwrite\` changes a user | \`userId\`, \`source\`, \`requestId\`, \`changes\` only |

Every catalogue payload carries \`projectId\`, \`projectName\`, \`userId\` (the owner), \`deploymentId\` (deployment events), \`source\`
(\`api\`, \`webhook\`, or \`seed\` for the seed loader) and \`requestId\` (of the request that caused it). Other names of the form \`area.action\`
are accepted with any payload object whose \`projectId\`, \`deploymentId\` and \`userId\`, when present, are ids.`;

const refId = { type: 'integer', minimum: 1, maximum: INT4_MAX } as const;
const nullableRefId = (description: string): JsonSchema => ({ type: ['integer', 'null'], minimum: 1, maximum: INT4_MAX, description });

export const openapiDocument: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'aggregator-service',
    version: '1.0.0',
    summary: 'The private event store of the hosting platform.',
    description: `Every action in project-service becomes an event here, delivered asynchronously by its outbox relay
and never lost; analytics read them back.

**Authentication.** Every route takes \`Authorization: Bearer <AGGREGATOR_SERVICE_TOKEN>\` (scheme \`token\`),
except \`/metrics\` (the service token or \`METRICS_TOKEN\`) and \`/healthz\`, \`/readyz\`, \`/openapi.json\` and
\`/docs\`, which take none.

**Idempotency.** Events are stored once per \`eventId\` (compared without case): at-least-once delivery on the
wire is exactly-once in the store.

**Errors.** Every error is JSON (\`application/json\`, or \`application/problem+json\` when \`Accept\` asks for it)
with \`name\`, \`message\`, RFC 9457's \`type\`, \`title\`, \`status\`, \`detail\`, the \`requestId\`, and for validation
errors \`issues: [{ path, message }]\` (see the \`Error\` schema). An unknown route is a 404, a wrong method a 405
with \`Allow\`, and on every route but the open ones and \`/metrics\` a \`Host\` that is not \`hostname[:port]\` a 400
(\`BadRequestError\`: \`Link\` URLs are built from it). Every answer carries \`X-Request-Id\`; every answer of a route
behind the token, errors included, \`Cache-Control: private, no-store\` (an export \`no-store\`).

**The event catalogue.**
${CATALOGUE}`,
  },
  tags: [{ name: 'events', description: 'Ingest and read the event store.' }, ...openapiOperationalTags],
  security: [{ token: [] }],
  paths: {
    '/events': {
      post: {
        tags: ['events'],
        operationId: 'ingestEvents',
        summary: 'Store events',
        description: `One event or an array of events (at most ${MAX_BATCH_EVENTS}, each at most ${MAX_EVENT_BYTES / 1024} kB serialized, 1 MB in all;
beyond: 413). Idempotent by \`eventId\`: an event already stored, or repeated earlier in the same request, is a
\`duplicate\` and the first copy wins. Always 200 when valid, also when every event was a duplicate, so a sender
retrying a batch gets the same kind of answer.

All or nothing: any invalid event is a 400 naming its index and field (\`body[3].payload.projectId\`, or
\`body.payload.projectId\` for a single event), and nothing of the request is stored.
${CATALOGUE}`,
        parameters: [reqIdParam],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                oneOf: [
                  ref('#/components/schemas/EventEnvelope'),
                  { type: 'array', minItems: 1, maxItems: MAX_BATCH_EVENTS, items: ref('#/components/schemas/EventEnvelope') },
                ],
              },
              example: {
                eventId: '0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d',
                name: 'deployment.created',
                occurredAt: '2026-11-20T10:00:00.000Z',
                payload: {
                  projectId: 1,
                  projectName: 'shop',
                  userId: 1,
                  deploymentId: 7,
                  source: 'api',
                  requestId: 'req-1',
                  status: 'pending',
                },
              },
            },
          },
        },
        responses: {
          '200': {
            description: 'What happened to each event, in request order.',
            headers: reqIdHeader,
            content: { 'application/json': { schema: ref('#/components/schemas/IngestResult') } },
          },
          ...openapiErrors(400, 401),
          '413': openapiErrorResponse(
            `More than ${MAX_BATCH_EVENTS} events, an event over ${MAX_EVENT_BYTES / 1024} kB, or a body over 1 MB (\`PayloadTooLargeError\`). Nothing is stored.`,
            { status: 413, message: `A batch holds at most ${MAX_BATCH_EVENTS} events; this one has 501` },
          ),
          ...openapiErrors(415, 500, 503),
        },
      },
      get: {
        tags: ['events'],
        operationId: 'listEvents',
        summary: 'Read events',
        description:
          'Newest first (by `occurredAt`, then id), with keyset pagination: pass `nextCursor` as `cursor` for the next ' +
          'page, or follow the `Link: rel="next"` header. Filters combine with AND; other query parameters are ignored.',
        parameters: [
          {
            name: 'name',
            in: 'query',
            required: false,
            description: 'Only events of this name, e.g. `deployment.succeeded`.',
            schema: { type: 'string', minLength: 1, maxLength: 100 },
          },
          { name: 'projectId', in: 'query', required: false, description: 'Only events about this project.', schema: { ...refId } },
          { name: 'deploymentId', in: 'query', required: false, description: 'Only events about this deployment.', schema: { ...refId } },
          { name: 'userId', in: 'query', required: false, description: "Only events about this user's projects.", schema: { ...refId } },
          {
            name: 'from',
            in: 'query',
            required: false,
            description: 'Only events that occurred at or after this instant (ISO 8601 with `Z` or an offset; encode `+` as `%2B`).',
            schema: { type: 'string', format: 'date-time' },
          },
          {
            name: 'to',
            in: 'query',
            required: false,
            description: 'Only events that occurred before this instant (exclusive).',
            schema: { type: 'string', format: 'date-time' },
          },
          {
            name: 'limit',
            in: 'query',
            required: false,
            description: `Events per page, 1–${MAX_LIMIT}.`,
            schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
          },
          {
            name: 'cursor',
            in: 'query',
            required: false,
            description: 'The `nextCursor` of the previous page; opaque. One this service did not give out is a 400.',
            schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,200}$' },
          },
          reqIdParam,
        ],
        responses: {
          '200': {
            description: 'One page.',
            headers: {
              ...reqIdHeader,
              Link: {
                description: 'When there is a next page: `<…/events?…&cursor=…>; rel="next"`, an absolute URL keeping the filters.',
                required: false,
                schema: { type: 'string' },
              },
            },
            content: { 'application/json': { schema: ref('#/components/schemas/EventPage') } },
          },
          ...openapiErrors(400, 401, 500, 503),
        },
      },
    },
    '/events/{id}': {
      get: {
        tags: ['events'],
        operationId: 'getEvent',
        summary: 'Read one event',
        description: "By the store's own id (the `id` of a listed event, not its `eventId`).",
        parameters: [
          {
            name: 'id',
            in: 'path',
            required: true,
            description: "The store's id. Not a positive integer: 400.",
            schema: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
          },
          reqIdParam,
        ],
        responses: {
          '200': {
            description: 'The event.',
            headers: reqIdHeader,
            content: { 'application/json': { schema: ref('#/components/schemas/Event') } },
          },
          ...openapiErrors(400, 401, 404, 500, 503),
        },
      },
    },
    ...openapiOperationalPaths('token'),
    ...activityPaths,
    ...exportPaths,
  },
  components: {
    schemas: {
      ...openapiSchemas,
      EventEnvelope: {
        type: 'object',
        title: 'EventEnvelope',
        description:
          'One event on the wire (shared/src/events/envelope.ts). A catalogue name gets its payload checked against ' +
          'its schema (the `if`/`then` below); another name of the form `area.action` takes any payload object.',
        properties: {
          eventId: { type: 'string', format: 'uuid', description: 'The idempotency key, chosen by the sender.' },
          name: {
            type: 'string',
            maxLength: 100,
            pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$',
            description: '`area.action`, lower case: a catalogue name or a future one.',
            examples: [...EVENT_NAMES],
          },
          occurredAt: {
            type: 'string',
            format: 'date-time',
            description: 'When it happened (ISO 8601 with `Z` or an offset), years 0001–9999.',
          },
          payload: ref('#/components/schemas/EventPayload'),
        },
        required: ['eventId', 'name', 'occurredAt', 'payload'],
        additionalProperties: false,
        allOf: EVENT_NAMES.map((name) => ({
          if: { properties: { name: { const: name } }, required: ['name'] },
          then: { properties: { payload: ref(`#/components/schemas/${payloadSchemaName(name)}`) } },
        })) as JsonSchema[],
      },
      EventPayload: {
        type: 'object',
        description:
          'What the event says, as the sender wrote it (at most 32 kB with its envelope). The ids `projectId`, ' +
          "`deploymentId` and `userId`, when present, are copied into the event's columns for filtering.",
        properties: { projectId: { ...refId }, deploymentId: { ...refId }, userId: { ...refId } },
        additionalProperties: true,
      },
      ...catalogueSchemas(),
      Event: {
        type: 'object',
        title: 'Event',
        description: 'A stored event.',
        properties: {
          id: { type: 'integer', minimum: 1, description: "The store's id (for `GET /events/{id}`)." },
          eventId: { type: 'string', format: 'uuid', description: "The sender's idempotency key, lower case." },
          name: { type: 'string' },
          occurredAt: { type: 'string', format: 'date-time', description: 'When it happened, in UTC.' },
          createdAt: { type: 'string', format: 'date-time', description: 'When the store received it, in UTC.' },
          projectId: nullableRefId('`payload.projectId`, if any.'),
          deploymentId: nullableRefId('`payload.deploymentId`, if any.'),
          userId: nullableRefId('`payload.userId`, if any.'),
          payload: { type: 'object', description: 'The payload as received.', additionalProperties: true },
        },
        required: ['id', 'eventId', 'name', 'occurredAt', 'createdAt', 'projectId', 'deploymentId', 'userId', 'payload'],
        additionalProperties: false,
      },
      EventPage: {
        type: 'object',
        properties: {
          data: { type: 'array', maxItems: MAX_LIMIT, items: ref('#/components/schemas/Event') },
          nextCursor: { type: ['string', 'null'], description: 'Pass it as `cursor` for the next page; null on the last page.' },
        },
        required: ['data', 'nextCursor'],
        additionalProperties: false,
      },
      IngestResult: {
        type: 'object',
        properties: {
          stored: { type: 'integer', minimum: 0, description: 'Events stored by this request.' },
          duplicates: { type: 'integer', minimum: 0, description: 'Events already stored, or repeated earlier in this request.' },
          results: {
            type: 'array',
            description: 'One per event, in request order.',
            items: {
              type: 'object',
              properties: {
                eventId: { type: 'string', format: 'uuid', description: 'As sent.' },
                status: { type: 'string', enum: ['stored', 'duplicate'] },
              },
              required: ['eventId', 'status'],
              additionalProperties: false,
            },
          },
        },
        required: ['stored', 'duplicates', 'results'],
        additionalProperties: false,
        examples: [
          {
            stored: 1,
            duplicates: 1,
            results: [
              { eventId: '0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d', status: 'stored' },
              { eventId: '5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6', status: 'duplicate' },
            ],
          },
        ],
      },
    },
    parameters: { ...openapiParameters },
    headers: { ...openapiHeaders },
    responses: openapiErrorResponses({ notFound: 'Event 42 not found' }),
    securitySchemes: {
      token: {
        type: 'http',
        scheme: 'bearer',
        description: "`AGGREGATOR_SERVICE_TOKEN`: the token of project-service's relay and of analytics.",
      },
      metrics: openapiMetricsScheme,
    },
  },
};

// 429 (rate limits) and 503 (request timeout) on every operation behind a credential: shared/src/http/limits-openapi.ts.
addLimitsToDocument(openapiDocument);
