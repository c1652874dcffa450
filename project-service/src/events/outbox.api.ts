import { answerHeaders, errors, requestIdParam, type RouteTable } from '@hosting/shared';
import { operatorsOnly } from '../openapi/common.js';
import { outboxStatusSchema } from './outbox.schema.js';

/** What the outbox answers: the route table of `GET /outbox/status`. */
export const outboxApi: RouteTable = {
  '/outbox/status': {
    get: {
      tags: ['outbox'],
      operationId: 'getOutboxStatus',
      summary: 'How delivery to the aggregator is going',
      description:
        'The events waiting in the outbox for delivery to aggregator-service: how many, how old the oldest is, the most attempts any has had, and the last error.',
      parameters: [requestIdParam],
      responses: {
        '200': { description: 'The backlog.', headers: answerHeaders(), content: { 'application/json': { schema: outboxStatusSchema } } },
        '404': operatorsOnly('/outbox/status'),
        ...errors(400, 401, 500, 503),
      },
    },
  },
};
