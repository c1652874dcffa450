import { openapiErrors, type JsonSchema, type OpenApiPathItem } from '@hosting/shared';
import { DEFAULT_LIMIT, INT4_MAX, MAX_LIMIT } from '../events/events.schema.js';

/** The OpenAPI paths of the activity feed, spread into openapi/document.ts. */

const ref = (to: string) => ({ $ref: to });
const reqIdParam = ref('#/components/parameters/X-Request-Id');
const reqIdHeader = { 'X-Request-Id': ref('#/components/headers/X-Request-Id') };

/** One item of the feed: an event reduced to what a timeline shows, plus its sentence. */
export const activityItemSchema: JsonSchema = {
  type: 'object',
  title: 'ActivityItem',
  description: 'One event of the project, with a short human sentence describing it.',
  properties: {
    id: { type: 'integer', minimum: 1, description: "The store's id of the event (`GET /events/{id}`)." },
    name: { type: 'string', description: 'The event name, e.g. `deployment.status_changed`.' },
    occurredAt: { type: 'string', format: 'date-time', description: 'When it happened, in UTC.' },
    summary: {
      type: 'string',
      description:
        'A short sentence for a timeline, one form per catalogue event: `Deployment #42 created`, `Deployment #42: building → deploying`, ' +
        '`Deployment #42 finished in 37 s`, `Deployment #42 failed (was building)`, `Deployment #42 cancelled (was pending) via API`, ' +
        '`Project got its URL https://…`; for other names `Event <name>` (and `on deployment #N` when the payload names one).',
      examples: ['Deployment #42: building → deploying'],
    },
    payload: { type: 'object', description: 'The payload as received.', additionalProperties: true },
  },
  required: ['id', 'name', 'occurredAt', 'summary', 'payload'],
  additionalProperties: false,
};

export const activityPageSchema: JsonSchema = {
  type: 'object',
  title: 'ActivityPage',
  properties: {
    data: { type: 'array', maxItems: MAX_LIMIT, items: activityItemSchema },
    nextCursor: { type: ['string', 'null'], description: 'Pass it as `cursor` for the next page; null on the last page.' },
  },
  required: ['data', 'nextCursor'],
  additionalProperties: false,
};

export const activityPaths: Record<string, OpenApiPathItem> = {
  '/projects/{id}/activity': {
    get: {
      tags: ['events'],
      operationId: 'getProjectActivity',
      summary: "A project's activity feed",
      description:
        'The events of one project (by `payload.projectId`), newest first (by `occurredAt`, then id), each with a ' +
        'human `summary`. Paginated exactly like `GET /events?projectId=`: pass `nextCursor` as `cursor`, or follow ' +
        '`Link: rel="next"`. This service does not know projects: an unknown one is an empty page, not a 404.',
      parameters: [
        {
          name: 'id',
          in: 'path',
          required: true,
          description: 'The project id. Not a positive integer: 400.',
          schema: { type: 'integer', minimum: 1, maximum: INT4_MAX },
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
          description: 'One page of the feed.',
          headers: {
            ...reqIdHeader,
            Link: {
              description: 'When there is a next page: `<…/projects/{id}/activity?…&cursor=…>; rel="next"`, an absolute URL.',
              required: false,
              schema: { type: 'string' },
            },
          },
          content: {
            'application/json': {
              schema: activityPageSchema,
              example: {
                data: [
                  {
                    id: 12,
                    name: 'deployment.status_changed',
                    occurredAt: '2026-11-20T10:00:37.000Z',
                    summary: 'Deployment #42: deploying → done',
                    payload: {
                      projectId: 1,
                      projectName: 'shop',
                      userId: 1,
                      deploymentId: 42,
                      source: 'webhook',
                      requestId: 'req-9',
                      from: 'deploying',
                      to: 'done',
                      deployedIn: 37,
                    },
                  },
                ],
                nextCursor: null,
              },
            },
          },
        },
        ...openapiErrors(400, 401, 500, 503),
      },
    },
  },
};
