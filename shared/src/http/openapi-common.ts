import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject, ZodOpenApiResponseObject, ZodOpenApiResponsesObject } from 'zod-openapi';
import { NAME_BY_STATUS, type FieldIssue } from '../errors.js';
import { EXAMPLE_REQUEST_ID, problemBody, problemSchema, type ProblemBody } from './problem.js';
import { REQUEST_ID_PATTERN } from './request-context.js';

/**
 * The pieces the route tables of both services are written with: the headers and parameter every
 * operation has, error answers, and the shared error responses by status. openapi.ts composes
 * the document from the route tables and these.
 */

/** A feature's route table: its paths, each operation with its zod schemas. */
export type RouteTable = ZodOpenApiPathsObject;
export type ApiOperation = ZodOpenApiOperationObject;
export type ApiResponse = ZodOpenApiResponseObject;

// ---------------------------------------------------------------------------------------------
// Headers and parameters every operation has.

export const requestIdHeader = z
  .string()
  .regex(REQUEST_ID_PATTERN)
  .meta({
    description:
      "The request id: the caller's own `X-Request-Id` when it is 1–128 characters of `A-Za-z0-9._:-`, else a " +
      "generated uuid. It is in the service's log line of the request and in the error body.",
    header: { id: 'X-Request-Id' },
  });

export const retryAfterHeader = z
  .int()
  .min(0)
  .meta({ description: 'Seconds to wait before trying again.', header: { id: 'Retry-After' } });

export const wwwAuthenticateHeader = z
  .enum(['Bearer'])
  .meta({ description: 'The authentication scheme to use.', header: { id: 'WWW-Authenticate' } });

/** The optional `X-Request-Id` a caller may send; every operation lists it. */
export const requestIdParam = z
  .string()
  .regex(REQUEST_ID_PATTERN)
  .optional()
  .meta({
    description: 'Your id for this request (1–128 characters of `A-Za-z0-9._:-`), echoed in the answer; otherwise a uuid is generated.',
    param: { id: 'X-Request-Id', in: 'header', name: 'X-Request-Id' },
  });

/** The headers of an answer: `X-Request-Id` and `more`. */
export function answerHeaders(more: Record<string, z.ZodType> = {}) {
  return z.object({ 'X-Request-Id': requestIdHeader, ...more });
}

/**
 * A path or query parameter arrives as text; where its schema reads an integer out of it (a
 * pattern, then a transform), the document shows the integer it stands for.
 */
export function integerText(bounds: { minimum: number; maximum: number; default?: number }) {
  return ({ jsonSchema }: { jsonSchema: Record<string, unknown> }): void => {
    delete jsonSchema.pattern;
    Object.assign(jsonSchema, { type: 'integer', ...bounds });
  };
}

// ---------------------------------------------------------------------------------------------
// Error answers.

/** An error body exactly as the error middleware writes it (same function), for examples. */
function errorExample(example: { status: number; message: string; name?: string; issues?: FieldIssue[] }): ProblemBody {
  return {
    ...problemBody(example.status, example.name ?? NAME_BY_STATUS[example.status] ?? 'HttpError', example.message, example.issues),
    requestId: EXAMPLE_REQUEST_ID,
  };
}

/**
 * An error answer: the `Error` body (with an example of `status` saying `message`), `X-Request-Id`,
 * and `headers` when the status carries more. Both JSON media types: a client that asks for RFC
 * 9457's own type gets it.
 */
export function errorResponse(
  description: string,
  example: { status: number; message: string; name?: string; issues?: FieldIssue[] },
  headers: Record<string, z.ZodType> = {},
): ZodOpenApiResponseObject {
  const body = errorExample(example);
  return {
    description,
    headers: answerHeaders(headers),
    content: {
      'application/json': { schema: problemSchema, example: body },
      'application/problem+json': { schema: problemSchema, example: body },
    },
  };
}

export const RESPONSE_NAMES = {
  400: 'BadRequest',
  401: 'Unauthorized',
  404: 'NotFound',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
} as const;
export type SharedErrorStatus = keyof typeof RESPONSE_NAMES;

/** The shared error answers an operation lists, by status (references to the document's components). */
export function errors(...statuses: SharedErrorStatus[]): ZodOpenApiResponsesObject {
  return Object.fromEntries(statuses.map((s) => [String(s), { $ref: `#/components/responses/${RESPONSE_NAMES[s]}` }]));
}
