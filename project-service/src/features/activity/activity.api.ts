import { z } from 'zod';
import { answerHeaders, errorResponse, errors, requestIdParam, retryAfterHeader, type RouteTable } from '@hosting/shared';
import { AGGREGATOR_READ_TIMEOUT_MS } from '../../events/aggregator-client.js';
import { projectIdParams } from '../projects/projects.schema.js';
import { activityPageSchema, activityQuery } from './activity.schema.js';
import { AGGREGATOR_RETRY_AFTER_S } from './activity.service.js';

/** What the activity feed answers: the route table of `GET /projects/{id}/activity`. */
export const activityApi: RouteTable = {
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
      parameters: [requestIdParam],
      requestParams: { path: projectIdParams, query: activityQuery },
      responses: {
        '200': {
          description: 'One page of the feed.',
          headers: answerHeaders({
            Link: z.string().optional().meta({
              description:
                'When there is a next page: `<…/projects/{id}/activity?…&cursor=…>; rel="next"`, an absolute URL of this service.',
            }),
          }),
          content: {
            'application/json': {
              schema: activityPageSchema,
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
        ...errors(400, 401, 404, 500),
        '503': errorResponse(
          `The event store (aggregator-service) did not answer within ${AGGREGATOR_READ_TIMEOUT_MS / 1000} s, failed, or is not configured; or our database was too slow. ` +
            `Try again after \`Retry-After\` seconds (${AGGREGATOR_RETRY_AFTER_S} for an outage, 60 when no aggregator is configured) (\`ServiceUnavailableError\`).`,
          { status: 503, message: 'The event store did not answer; try again shortly' },
          { 'Retry-After': retryAfterHeader },
        ),
      },
    },
  },
};
