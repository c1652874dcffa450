import { z } from 'zod';
import { answerHeaders, errorResponse, errors, requestIdParam, type RouteTable } from '@hosting/shared';
import { MAX_BATCH_EVENTS, MAX_EVENT_BYTES } from './batch.js';
import { eventEnvelopeBody, eventIdParams, eventPageSchema, eventSchema, ingestResultSchema, listEventsQuery } from './events.schema.js';

/** What the event store answers: the route table of `POST /events`, `GET /events` and `GET /events/{id}`. */

export const EVENT_CATALOGUE = `
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

/** `Link` of a page, when there is a next one. */
export function nextPageLink(example: string) {
  return z
    .string()
    .optional()
    .meta({ description: `When there is a next page: \`<${example}>; rel="next"\`, an absolute URL keeping the filters.` });
}

export const eventsApi: RouteTable = {
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
${EVENT_CATALOGUE}`,
      parameters: [requestIdParam],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: z.union([eventEnvelopeBody, z.array(eventEnvelopeBody).min(1).max(MAX_BATCH_EVENTS)]),
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
          headers: answerHeaders(),
          content: { 'application/json': { schema: ingestResultSchema } },
        },
        ...errors(400, 401),
        '413': errorResponse(
          `More than ${MAX_BATCH_EVENTS} events, an event over ${MAX_EVENT_BYTES / 1024} kB, or a body over 1 MB (\`PayloadTooLargeError\`). Nothing is stored.`,
          { status: 413, message: `A batch holds at most ${MAX_BATCH_EVENTS} events; this one has 501` },
        ),
        ...errors(415, 500, 503),
      },
    },
    get: {
      tags: ['events'],
      operationId: 'listEvents',
      summary: 'Read events',
      description:
        'Newest first (by `occurredAt`, then id), with keyset pagination: pass `nextCursor` as `cursor` for the next ' +
        'page, or follow the `Link: rel="next"` header. Filters combine with AND; other query parameters are ignored.',
      parameters: [requestIdParam],
      requestParams: { query: listEventsQuery },
      responses: {
        '200': {
          description: 'One page.',
          headers: answerHeaders({ Link: nextPageLink('…/events?…&cursor=…') }),
          content: { 'application/json': { schema: eventPageSchema } },
        },
        ...errors(400, 401, 500, 503),
      },
    },
  },
  '/events/{id}': {
    get: {
      tags: ['events'],
      operationId: 'getEvent',
      summary: 'Read one event',
      description: "By the store's own id (the `id` of a listed event, not its `eventId`).",
      parameters: [requestIdParam],
      requestParams: { path: eventIdParams },
      responses: {
        '200': { description: 'The event.', headers: answerHeaders(), content: { 'application/json': { schema: eventSchema } } },
        ...errors(400, 401, 404, 500, 503),
      },
    },
  },
};
