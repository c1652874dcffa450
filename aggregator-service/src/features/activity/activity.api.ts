import { answerHeaders, errors, requestIdParam, type RouteTable } from '@hosting/shared';
import { nextPageLink } from '../events/events.api.js';
import { activityPageSchema, activityParams, activityQuery } from './activity.schema.js';

/** What the activity feed answers: the route table of `GET /projects/{id}/activity`. */
export const activityApi: RouteTable = {
  '/projects/{id}/activity': {
    get: {
      tags: ['events'],
      operationId: 'getProjectActivity',
      summary: "A project's activity feed",
      description:
        'The events of one project (by `payload.projectId`), newest first (by `occurredAt`, then id), each with a ' +
        'human `summary`. Paginated exactly like `GET /events?projectId=`: pass `nextCursor` as `cursor`, or follow ' +
        '`Link: rel="next"`. This service does not know projects: an unknown one is an empty page, not a 404.',
      parameters: [requestIdParam],
      requestParams: { path: activityParams, query: activityQuery },
      responses: {
        '200': {
          description: 'One page of the feed.',
          headers: answerHeaders({ Link: nextPageLink('…/projects/{id}/activity?…&cursor=…') }),
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
        ...errors(400, 401, 500, 503),
      },
    },
  },
};
