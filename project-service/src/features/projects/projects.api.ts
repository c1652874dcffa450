import { z } from 'zod';
import { answerHeaders, errors, requestIdParam, type RouteTable } from '@hosting/shared';
import { emptyRequestBody, operatorsOnly, pageHeaders } from '../../openapi/common.js';
import {
  busyProjectSchema,
  busyProjectsQuery,
  listProjectsQuery,
  projectIdParams,
  projectSchema,
  secretRotationSchema,
} from './projects.schema.js';

/** What the project routes answer (creating a project's deployment is in deployments.api.ts). */
export const projectsApi: RouteTable = {
  '/projects': {
    get: {
      tags: ['project'],
      operationId: 'listProjects',
      summary: 'List all projects',
      description:
        'One page of 8 projects in id order, with their flags. A page past the end is `200 []`; a `page` that is not a positive integer is a 400.',
      parameters: [requestIdParam],
      requestParams: { query: listProjectsQuery },
      responses: {
        '200': {
          description: 'The page.',
          headers: answerHeaders(pageHeaders),
          content: { 'application/json': { schema: z.array(projectSchema).max(8) } },
        },
        ...errors(400, 401, 500, 503),
      },
    },
  },
  '/projects/{id}': {
    get: {
      tags: ['project'],
      operationId: 'getProject',
      summary: 'Get a project',
      description: 'The project with its flags. Its app secret never appears in any answer.',
      parameters: [requestIdParam],
      requestParams: { path: projectIdParams },
      responses: {
        '200': { description: 'The project.', headers: answerHeaders(), content: { 'application/json': { schema: projectSchema } } },
        ...errors(400, 401, 404, 500, 503),
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
      parameters: [requestIdParam],
      requestParams: { path: projectIdParams },
      requestBody: emptyRequestBody,
      responses: {
        '200': {
          description: 'The new secret. Store it now: it cannot be shown again, only replaced.',
          headers: answerHeaders({
            'Cache-Control': z.enum(['no-store']).meta({ description: 'The answer holds a secret: never stored by a cache.' }),
          }),
          content: { 'application/json': { schema: secretRotationSchema } },
        },
        ...errors(400, 401, 404, 413, 415, 500, 503),
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
      parameters: [requestIdParam],
      requestParams: { query: busyProjectsQuery },
      responses: {
        '200': {
          description: 'The busy projects.',
          headers: answerHeaders(),
          content: { 'application/json': { schema: z.array(busyProjectSchema).max(100) } },
        },
        '404': operatorsOnly('/ops/busy-projects'),
        ...errors(400, 401, 500, 503),
      },
    },
  },
};
