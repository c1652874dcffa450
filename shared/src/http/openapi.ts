import { z } from 'zod';
import {
  createDocument,
  type oas31,
  type ZodOpenApiComponentsObject,
  type ZodOpenApiObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
  type ZodOpenApiSecuritySchemeObject,
} from 'zod-openapi';
import { DOCS_ASSET_NAMES } from './docs-ui.js';
import { limitsParagraph, rateLimitHeaderSchemas, REQUEST_TIMEOUT_SENTENCE, tooManyRequestsResponse } from './limits-openapi.js';
import {
  answerHeaders,
  errorResponse,
  errors,
  requestIdParam,
  retryAfterHeader,
  wwwAuthenticateHeader,
  type RESPONSE_NAMES,
  type SharedErrorStatus,
} from './openapi-common.js';

/**
 * How both services' OpenAPI 3.1 documents are made: each feature's route table (zod schemas with
 * `.meta()` for the prose, the same objects the handlers parse with) goes through `zod-openapi`, and
 * `buildOpenApiDocument` composes in what every document shares: the error body, the common headers
 * and error responses, the limits, the operational and documentation routes. Nothing is added to a
 * document after it is built.
 */

/** The error answers both services give; `notFound` is an example message. */
function sharedErrorResponses(notFound: string): Record<(typeof RESPONSE_NAMES)[SharedErrorStatus], ZodOpenApiResponseObject> {
  return {
    BadRequest: errorResponse(
      'Bad input: a path or query parameter that is not valid, a body that is not valid JSON, or a body field ' +
        'that is missing, wrong or unknown (`ValidationError` with `issues`, one per field).',
      {
        status: 400,
        name: 'ValidationError',
        message: 'Invalid query.page: must be a positive integer',
        issues: [{ path: 'query.page', message: 'must be a positive integer' }],
      },
    ),
    Unauthorized: errorResponse(
      'Missing or wrong bearer token (`UnauthorizedError`).',
      { status: 401, message: 'Missing or invalid credentials' },
      { 'WWW-Authenticate': wwwAuthenticateHeader },
    ),
    NotFound: errorResponse('No such resource (`NotFoundError`).', { status: 404, message: notFound }),
    PayloadTooLarge: errorResponse('The body is larger than this route accepts (`PayloadTooLargeError`).', {
      status: 413,
      message: 'request entity too large',
    }),
    UnsupportedMediaType: errorResponse('A body that is not `application/json` (`UnsupportedMediaTypeError`).', {
      status: 415,
      message: 'Request bodies must be application/json',
    }),
    TooManyRequests: tooManyRequestsResponse,
    InternalServerError: errorResponse(
      'A bug or an outage (`InternalServerError`). The body shows nothing internal; the log has the stack under the request id.',
      { status: 500, message: 'The service could not complete the request; it has been logged, try again later' },
    ),
    ServiceUnavailable: errorResponse(
      'The database took too long to answer (a statement or lock timeout): try again after `Retry-After` seconds ' +
        `(\`ServiceUnavailableError\`). ${REQUEST_TIMEOUT_SENTENCE}`,
      { status: 503, message: 'The database took too long to answer; try again shortly' },
      { 'Retry-After': retryAfterHeader },
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// The operational and documentation routes (served by middleware in front of the routers).

const healthSchema = z.object({ status: z.enum(['ok']) }).meta({ id: 'Health' });
const readinessSchema = z.object({ status: z.enum(['ready']) }).meta({ id: 'Readiness' });

const notModified = { description: 'Not modified since the `ETag` in `If-None-Match`.', headers: answerHeaders() };

/** `/healthz`, `/readyz`, `/metrics` and the documentation routes; `tokenScheme` is the service's own token's scheme. */
function operationalPaths(tokenScheme: string): ZodOpenApiPathsObject {
  const tags = ['operations'];
  const docTags = ['documentation'];
  const parameters = [requestIdParam];
  return {
    '/healthz': {
      get: {
        tags,
        operationId: 'getHealth',
        summary: 'Liveness',
        description: 'The process answers. It does not touch the database: a failing database must not get a live process restarted.',
        security: [],
        parameters,
        responses: {
          '200': {
            description: 'Alive.',
            headers: answerHeaders(),
            content: { 'application/json': { schema: healthSchema, example: { status: 'ok' } } },
          },
          ...errors(500),
        },
      },
    },
    '/readyz': {
      get: {
        tags,
        operationId: 'getReadiness',
        summary: 'Readiness',
        description:
          'Ready for traffic: the database answers within 1 s and the service is not shutting down. Otherwise a 503 with `Retry-After`: take this instance out of the load balancer for now.',
        security: [],
        parameters,
        responses: {
          '200': {
            description: 'Ready.',
            headers: answerHeaders(),
            content: { 'application/json': { schema: readinessSchema, example: { status: 'ready' } } },
          },
          '503': errorResponse(
            'Not ready: the database does not answer within 1 s, or the service is shutting down (`ServiceUnavailableError`).',
            { status: 503, message: 'Shutting down' },
            { 'Retry-After': retryAfterHeader },
          ),
          ...errors(500),
        },
      },
    },
    '/metrics': {
      get: {
        tags,
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        description:
          'The Prometheus text exposition: request durations by method, route template and status ' +
          "(`http_request_duration_seconds`), the Node.js process metrics, and the service's own gauges and counters. " +
          "Takes the service's own token or `METRICS_TOKEN`.",
        security: [{ [tokenScheme]: [] }, { metrics: [] }],
        parameters,
        responses: {
          '200': {
            description: 'The metrics.',
            headers: answerHeaders(),
            content: {
              'text/plain': {
                schema: z.string(),
                example:
                  '# HELP http_request_duration_seconds HTTP request duration by method, route template and status\n# TYPE http_request_duration_seconds histogram\n',
              },
            },
          },
          ...errors(401, 500),
        },
      },
    },
    '/openapi.json': {
      get: {
        tags: docTags,
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        description: 'The OpenAPI 3.1 document of this service. No token needed.',
        security: [],
        responses: {
          '200': {
            description: 'The document.',
            headers: answerHeaders(),
            content: {
              'application/json': {
                schema: z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }),
              },
            },
          },
          '304': notModified,
        },
      },
    },
    '/docs': {
      get: {
        tags: docTags,
        operationId: 'getDocs',
        summary: 'Interactive documentation',
        description:
          'Swagger UI on this document, served by the service itself (no CDN). No token needed to read it; use **Authorize** to try the routes.',
        security: [],
        responses: {
          '200': { description: 'The page.', headers: answerHeaders(), content: { 'text/html': { schema: z.string() } } },
          '304': notModified,
        },
      },
    },
    '/docs/assets/{file}': {
      get: {
        tags: docTags,
        operationId: 'getDocsAsset',
        summary: 'A file of the documentation page',
        description: 'Only these files; any other name is a 404.',
        security: [],
        requestParams: { path: z.object({ file: z.enum(DOCS_ASSET_NAMES as [string, ...string[]]) }) },
        responses: {
          '200': {
            description: 'The file, cacheable for a day.',
            headers: answerHeaders(),
            content: {
              'application/javascript': { schema: z.string() },
              'text/css': { schema: z.string() },
              'image/png': { schema: z.string().meta({ contentMediaType: 'image/png' }) },
            },
          },
          '304': notModified,
          ...errors(404),
        },
      },
    },
  };
}

const operationalTags = [
  { name: 'operations', description: 'For operators and their tools: liveness, readiness, metrics.' },
  { name: 'documentation', description: 'This document and its interactive page.' },
];

const metricsScheme: ZodOpenApiSecuritySchemeObject = {
  type: 'http',
  scheme: 'bearer',
  description: '`METRICS_TOKEN`: a second token that `GET /metrics` accepts (for Prometheus), and nothing else does.',
};

// ---------------------------------------------------------------------------------------------
// The document.

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * Every operation behind a credential can be refused by the rate limits (429) and the request
 * timeout (503): both answers are part of each such operation, whatever its route table lists.
 */
function withLimits(paths: ZodOpenApiPathsObject, security: ZodOpenApiObject['security']): ZodOpenApiPathsObject {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => {
      const withOps = { ...item };
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        const required = operation.security ?? security ?? [];
        const secured = required.length > 0 && required.every((requirement) => Object.keys(requirement).length > 0);
        withOps[method] = secured ? { ...operation, responses: { ...errors(429, 503), ...operation.responses } } : operation;
      }
      return [path, withOps];
    }),
  );
}

/**
 * zod writes a nullable as `anyOf: [X, { type: 'null' }]`; where X is a plain typed schema the
 * document says `type: [X's type, 'null']`, the form readers and Swagger UI show best.
 */
function nullableAsTypeList({ jsonSchema }: { jsonSchema: Record<string, unknown> }): void {
  const anyOf = jsonSchema.anyOf as Array<Record<string, unknown>> | undefined;
  if (anyOf?.length !== 2) return;
  const [value, none] = anyOf;
  if (none?.type !== 'null' || Object.keys(none).length !== 1 || typeof value?.type !== 'string') return;
  if ('enum' in value || 'const' in value) return; // the null would have to be listed among the values
  delete jsonSchema.anyOf;
  Object.assign(jsonSchema, { ...value, type: [value.type, 'null'] });
}

export interface ServiceApi {
  /** OpenAPI 3.1's `summary` included. */
  info: ZodOpenApiObject['info'] & { summary?: string };
  tags: NonNullable<ZodOpenApiObject['tags']>;
  /** The scheme of the service's own token: the document's default security. */
  tokenScheme: string;
  securitySchemes: Record<string, ZodOpenApiSecuritySchemeObject>;
  /** The route tables of the service's features. */
  paths: ZodOpenApiPathsObject;
  /** The example message of the shared 404. */
  notFoundExample: string;
  components?: Pick<ZodOpenApiComponentsObject, 'schemas' | 'responses' | 'parameters' | 'headers' | 'requestBodies'>;
}

/** The OpenAPI 3.1 document of a service: its route tables and what both services share. */
export function buildOpenApiDocument(api: ServiceApi): OpenApiDocument {
  const security = [{ [api.tokenScheme]: [] }];
  const document = createDocument(
    {
      openapi: '3.1.0',
      info: { ...api.info, description: `${api.info.description ?? ''}\n\n${limitsParagraph()}` },
      tags: [...api.tags, ...operationalTags],
      security,
      paths: withLimits({ ...api.paths, ...operationalPaths(api.tokenScheme) }, security),
      components: {
        ...api.components,
        headers: { ...rateLimitHeaderSchemas, ...api.components?.headers },
        responses: { ...sharedErrorResponses(api.notFoundExample), ...api.components?.responses },
        securitySchemes: { ...api.securitySchemes, metrics: metricsScheme },
      },
    },
    { override: nullableAsTypeList },
  );
  // Plain JSON, as it is served: the library shares objects between places (a response used by two
  // operations), and a reader that resolves references in place would change both.
  return JSON.parse(JSON.stringify({ ...document, paths: document.paths ?? {} })) as OpenApiDocument;
}

export type OpenApiDocument = oas31.OpenAPIObject & { paths: oas31.PathsObject };
