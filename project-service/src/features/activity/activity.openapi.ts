import { openapiErrorResponse, openapiErrors, type JsonSchema, type OpenApiPathItem } from '@hosting/shared';
import { AGGREGATOR_READ_TIMEOUT_MS } from '../../events/aggregator-client.js';
import { ACTIVITY_DEFAULT_LIMIT, ACTIVITY_MAX_LIMIT } from './activity.schema.js';
import { AGGREGATOR_RETRY_AFTER_S } from './activity.service.js';

/** The OpenAPI paths of the activity feature, spread into openapi/document.ts. */

const ref = (to: string) => ({ $ref: to });
const reqIdHeader = { 'X-Request-Id': ref('#/components/headers/X-Request-Id') };

const activityItem: JsonSchema = {
  type: 'object',
  title: 'ActivityItem',
  description: 'One event of the project, with a short sentence describing it.',
  properties: {
    id: { type: 'integer', minimum: 1, description: "The event's id in the event store." },
    name: { type: 'string', description: 'The event name, e.g. `deployment.status_changed` (see the event catalogue in the README).' },
    occurredAt: { type: 'string', format: 'date-time', description: 'When it happened, in UTC.' },
    summary: {
      type: 'string',
      description:
        'A sentence for a timeline: `Deployment #42 created`, `Deployment #42: building → deploying`, `Deployment #42 finished in 37 s`, ' +
        '`Deployment #42 failed (was building)`, `Deployment #42 cancelled (was pending) via API`, `Project got its URL https://…`; ' +
        '`Event <name>` for events outside the catalogue.',
      examples: ['Deployment #42 finished in 37 s'],
    },
    payload: { type: 'object', description: "The event's payload, as stored.", additionalProperties: true },
  },
  required: ['id', 'name', 'occurredAt', 'summary', 'payload'],
  additionalProperties: false,
};

export const activityPaths: Record<string, OpenApiPathItem> = {
  '/projects/{id}/activity': {
    get: {
      tags: ['project'],
      operationId: 'getProjectActivity',
      summary: "A project's activity feed",
      description: `The project's events (deployments created, status changes, successes, failures, cancellations, its URL),
newest first, each with a human \`summary\`, read from aggregator-service. Keyset pagination: pass \`nextCursor\` as
\`cursor\`, or follow \`Link: rel="next"\` (an absolute URL of this service).

An unknown project is a 404; so is another user's project for a user's token (JWT mode). Events reach the store asynchronously (the outbox relay, usually well under a second),
so the newest change may take a moment to appear. When the event store cannot answer within
${AGGREGATOR_READ_TIMEOUT_MS / 1000} s (down, slow, failing, or not configured), the answer is a 503 with \`Retry-After\`.`,
      parameters: [
        ref('#/components/parameters/ProjectId'),
        {
          name: 'limit',
          in: 'query',
          required: false,
          description: `Events per page, 1–${ACTIVITY_MAX_LIMIT}.`,
          schema: { type: 'integer', minimum: 1, maximum: ACTIVITY_MAX_LIMIT, default: ACTIVITY_DEFAULT_LIMIT },
        },
        {
          name: 'cursor',
          in: 'query',
          required: false,
          description: 'The `nextCursor` of the previous page; opaque. One that was not given out is a 400.',
          schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,200}$' },
        },
        ref('#/components/parameters/X-Request-Id'),
      ],
      responses: {
        '200': {
          description: 'One page of the feed.',
          headers: {
            ...reqIdHeader,
            Link: {
              description:
                'When there is a next page: `<…/projects/{id}/activity?…&cursor=…>; rel="next"`, an absolute URL of this service.',
              required: false,
              schema: { type: 'string' },
            },
          },
          content: {
            'application/json': {
              schema: {
                type: 'object',
                title: 'ActivityPage',
                properties: {
                  data: { type: 'array', maxItems: ACTIVITY_MAX_LIMIT, items: activityItem },
                  nextCursor: { type: ['string', 'null'], description: 'Pass it as `cursor` for the next page; null on the last page.' },
                },
                required: ['data', 'nextCursor'],
                additionalProperties: false,
              },
              example: {
                data: [
                  {
                    id: 12,
                    name: 'deployment.succeeded',
                    occurredAt: '2026-11-20T10:00:37.000Z',
                    summary: 'Deployment #42 finished in 37 s',
                    payload: {
                      projectId: 1,
                      projectName: 'shop',
                      userId: 1,
                      deploymentId: 42,
                      source: 'webhook',
                      requestId: 'req-9',
                      deployedIn: 37,
                    },
                  },
                ],
                nextCursor: null,
              },
            },
          },
        },
        ...openapiErrors(400, 401, 404, 500),
        '503': openapiErrorResponse(
          `The event store (aggregator-service) did not answer within ${AGGREGATOR_READ_TIMEOUT_MS / 1000} s, failed, or is not configured; or our database was too slow. ` +
            `Try again after \`Retry-After\` seconds (${AGGREGATOR_RETRY_AFTER_S} for an outage, 60 when no aggregator is configured) (\`ServiceUnavailableError\`).`,
          { status: 503, message: 'The event store did not answer; try again shortly' },
          { 'Retry-After': ref('#/components/headers/Retry-After') },
        ),
      },
    },
  },
};
