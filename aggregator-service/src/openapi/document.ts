import { buildOpenApiDocument, type OpenApiDocument } from '@hosting/shared';
import { activityApi } from '../features/activity/activity.api.js';
import { EVENT_CATALOGUE, eventsApi } from '../features/events/events.api.js';
import { payloadSchemas } from '../features/events/events.schema.js';
import { exportApi } from '../features/export/export.api.js';

/**
 * The OpenAPI 3.1 document of aggregator-service, served at GET /openapi.json and rendered at GET /docs:
 * the features' route tables (the zod schemas the routes parse and answer with) and what both
 * services share (shared/src/http/openapi.ts). The catalogue's payload schemas are the ones both
 * services validate with (shared/src/events/envelope.ts). The HTTP tests validate every response
 * against this document.
 */
export const openapiDocument: OpenApiDocument = buildOpenApiDocument({
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
${EVENT_CATALOGUE}`,
  },
  tags: [{ name: 'events', description: 'Ingest and read the event store.' }],
  tokenScheme: 'token',
  securitySchemes: {
    token: {
      type: 'http',
      scheme: 'bearer',
      description: "`AGGREGATOR_SERVICE_TOKEN`: the token of project-service's relay and of analytics.",
    },
  },
  paths: { ...eventsApi, ...exportApi, ...activityApi },
  notFoundExample: 'Event 42 not found',
  components: { schemas: payloadSchemas },
});
