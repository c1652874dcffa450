import { z } from 'zod';
import {
  answerHeaders,
  errorResponse,
  errors,
  requestIdParam,
  type ApiOperation,
  type ApiResponse,
  type RouteTable,
} from '@hosting/shared';
import { emptyRequestBody, pageHeaders } from '../../openapi/common.js';
import { projectIdParams } from '../projects/projects.schema.js';
import { deploymentIdParams, deploymentSchema, listDeploymentsQuery } from './deployments.schema.js';
import { idempotencyKeyHeader } from './idempotency.js';

/** What the deployment routes answer: creating one (with its Idempotency-Key), listing, reading and cancelling them. */

const deploymentCreated: ApiResponse = {
  id: 'DeploymentCreated',
  description: 'The new deployment, `pending`.',
  headers: answerHeaders({
    Location: z.string().meta({ description: 'The new deployment: `/deployments/{id}`.' }),
    'Idempotent-Replayed': z.enum(['true']).optional().meta({
      description: 'Only on a replay: `true` when this is the answer first given to an earlier request with the same `Idempotency-Key`.',
    }),
  }),
  content: { 'application/json': { schema: deploymentSchema } },
};

const idempotencyKeyReused: ApiResponse = {
  id: 'IdempotencyKeyReused',
  ...errorResponse(
    'The `Idempotency-Key` was already used, within 24 hours, for a different request (another project) (`IdempotencyKeyReusedError`). Nothing was created.',
    {
      status: 422,
      name: 'IdempotencyKeyReusedError',
      message:
        'Idempotency-Key "order-42" was already used for a different request (another project or body); retry with the same request, or use a new key',
    },
  ),
};

function createDeployment(operationId: string, summary: string, description: string): ApiOperation {
  return {
    tags: ['project'],
    operationId,
    summary,
    description,
    parameters: [requestIdParam],
    requestParams: { path: projectIdParams, header: idempotencyKeyHeader },
    requestBody: emptyRequestBody,
    responses: {
      '201': deploymentCreated,
      '422': idempotencyKeyReused,
      ...errors(400, 401, 404, 413, 415, 500, 503),
    },
  };
}

const deploymentAnswer = (description: string): ApiResponse => ({
  description,
  headers: answerHeaders(),
  content: { 'application/json': { schema: deploymentSchema } },
});

export const deploymentsApi: RouteTable = {
  '/projects/{id}/deployment': {
    post: createDeployment(
      'createProjectDeployment',
      'Trigger a new deployment for a project',
      'Creates a deployment with the status `pending` and writes its `deployment.created` event. No body, or `{}`: ' +
        'any field is refused with a 400 naming it. Also at `/projects/{id}/deployments`.\n\n' +
        '**Idempotency.** With an `Idempotency-Key` header, a retry of the same request (same project; either path) ' +
        'within 24 hours answers the first 201 again, with `Idempotent-Replayed: true`, and creates nothing, also when ' +
        'the requests race. The same key with a different request is a 422 (`IdempotencyKeyReusedError`). Keys are ' +
        'per caller. Only creations are remembered: after a 400 or a 404 the same key runs the request again.',
    ),
  },
  '/projects/{id}/deployments': {
    post: createDeployment(
      'createProjectDeploymentAlias',
      'Trigger a new deployment for a project (alias)',
      'The same as `POST /projects/{id}/deployment`, at the plural path REST clients expect (`Idempotency-Key` included: a key used on one path replays on the other).',
    ),
  },
  '/deployments': {
    get: {
      tags: ['deployment'],
      operationId: 'listDeployments',
      summary: 'List all deployments',
      description: 'One page of 8 deployments in id order, optionally of one project and in some statuses.',
      parameters: [requestIdParam],
      requestParams: { query: listDeploymentsQuery },
      responses: {
        '200': {
          description: 'The page.',
          headers: answerHeaders(pageHeaders),
          content: { 'application/json': { schema: z.array(deploymentSchema).max(8) } },
        },
        ...errors(400, 401, 500, 503),
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
      parameters: [requestIdParam],
      requestParams: { path: deploymentIdParams },
      responses: { '200': deploymentAnswer('The deployment.'), ...errors(400, 401, 404, 500, 503) },
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
      parameters: [requestIdParam],
      requestParams: { path: deploymentIdParams },
      requestBody: emptyRequestBody,
      responses: {
        '200': deploymentAnswer('The cancelled deployment.'),
        '400': errorResponse(
          'The deployment is `done` or `failed` and can no longer be cancelled (`BadRequestError`), or bad input (`ValidationError`).',
          { status: 400, message: 'Deployment 42 is done and can no longer be cancelled' },
        ),
        ...errors(401, 404, 413, 415, 500, 503),
      },
    },
  },
};
