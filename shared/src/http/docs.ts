import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Context, Middleware } from 'koa';
import { NAME_BY_STATUS, type FieldIssue } from '../errors.js';
import { problemBody, type ProblemBody } from './problem.js';

/**
 * The API documentation of a service, served by the service itself and without a token:
 *
 * - `GET /openapi.json`: the OpenAPI 3.1 document;
 * - `GET /docs`: Swagger UI (from the `swagger-ui-dist` package, served from node_modules: no CDN)
 *   pointed at that document;
 * - `GET /docs/assets/<file>`: the few files the page loads, by an allow-list of names, so
 *   nothing else of the file system is reachable whatever the path says.
 *
 * Everything else falls through to the next middleware. The building blocks both services'
 * documents share (the error body, common headers and responses, the operational routes) are
 * exported below, so the two documents say the same thing the same way.
 */

// ---------------------------------------------------------------------------------------------
// The shape of an OpenAPI 3.1 document, as far as our documents use it: enough for the compiler to
// catch a misspelt keyword or a misplaced field.

type JsonType = 'null' | 'boolean' | 'object' | 'array' | 'number' | 'string' | 'integer';

/** A JSON Schema 2020-12 schema (OpenAPI 3.1's dialect): `$ref` may stand beside other keywords. */
export interface JsonSchema {
  $ref?: string;
  title?: string;
  description?: string;
  examples?: readonly unknown[];
  default?: unknown;
  deprecated?: boolean;
  readOnly?: boolean;
  writeOnly?: boolean;
  type?: JsonType | readonly JsonType[];
  enum?: readonly unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  contentMediaType?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  items?: JsonSchema;
  prefixItems?: readonly JsonSchema[];
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  properties?: Record<string, JsonSchema>;
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  minProperties?: number;
  maxProperties?: number;
  allOf?: readonly JsonSchema[];
  anyOf?: readonly JsonSchema[];
  oneOf?: readonly JsonSchema[];
  not?: JsonSchema;
  if?: JsonSchema;
  then?: JsonSchema;
  else?: JsonSchema;
}

export interface OpenApiReference {
  $ref: string;
  summary?: string;
  description?: string;
}

export interface OpenApiParameter {
  name: string;
  in: 'query' | 'path' | 'header' | 'cookie';
  required?: boolean;
  description?: string;
  deprecated?: boolean;
  style?: 'form' | 'simple' | 'label' | 'matrix' | 'spaceDelimited' | 'pipeDelimited' | 'deepObject';
  explode?: boolean;
  schema: JsonSchema;
  example?: unknown;
}

export interface OpenApiHeader {
  description?: string;
  required?: boolean;
  schema: JsonSchema;
  example?: unknown;
}

export interface OpenApiMediaType {
  schema?: JsonSchema;
  example?: unknown;
  examples?: Record<string, { summary?: string; description?: string; value: unknown }>;
}

export interface OpenApiRequestBody {
  description?: string;
  required?: boolean;
  content: Record<string, OpenApiMediaType>;
}

export interface OpenApiResponse {
  description: string;
  headers?: Record<string, OpenApiHeader | OpenApiReference>;
  content?: Record<string, OpenApiMediaType>;
}

export type OpenApiResponses = Record<string, OpenApiResponse | OpenApiReference>;
export type OpenApiSecurityRequirement = Record<string, string[]>;

export interface OpenApiOperation {
  operationId: string;
  tags?: string[];
  summary?: string;
  description?: string;
  deprecated?: boolean;
  parameters?: Array<OpenApiParameter | OpenApiReference>;
  requestBody?: OpenApiRequestBody | OpenApiReference;
  responses: OpenApiResponses;
  /** `[]`: no authentication; absent: the document's `security`. */
  security?: OpenApiSecurityRequirement[];
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export type OpenApiPathItem = { summary?: string; description?: string; parameters?: Array<OpenApiParameter | OpenApiReference> } & {
  [M in HttpMethod]?: OpenApiOperation;
};

export interface OpenApiSecurityScheme {
  type: 'http';
  scheme: 'bearer' | 'basic';
  bearerFormat?: string;
  description?: string;
}

export interface OpenApiTag {
  name: string;
  description?: string;
}

export interface OpenApiDocument {
  openapi: `3.1.${number}`;
  info: {
    title: string;
    version: string;
    summary?: string;
    description?: string;
    license?: { name: string; identifier?: string; url?: string };
  };
  jsonSchemaDialect?: string;
  servers?: Array<{ url: string; description?: string }>;
  tags?: OpenApiTag[];
  security?: OpenApiSecurityRequirement[];
  paths: Record<string, OpenApiPathItem>;
  components?: {
    schemas?: Record<string, JsonSchema>;
    responses?: Record<string, OpenApiResponse | OpenApiReference>;
    parameters?: Record<string, OpenApiParameter | OpenApiReference>;
    requestBodies?: Record<string, OpenApiRequestBody | OpenApiReference>;
    headers?: Record<string, OpenApiHeader | OpenApiReference>;
    securitySchemes?: Record<string, OpenApiSecurityScheme>;
  };
}

type Schema = JsonSchema;
type Response = OpenApiResponse;

/** Files of swagger-ui-dist the page needs, with their content types. */
const PACKAGE_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Names under /docs/assets/, for the document and the tests: the package's files and our initializer. */
export const DOCS_ASSET_NAMES: readonly string[] = [...Object.keys(PACKAGE_ASSETS), 'init.js'];

/**
 * Starts Swagger UI on the page. A file rather than an inline script, so that the page's
 * Content-Security-Policy can forbid inline scripts. The document URL is relative to the page
 * (`/docs` → `/openapi.json`), which also holds behind a reverse proxy that adds a path prefix.
 */
const INIT_SCRIPT = `"use strict";
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  displayRequestDuration: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
});
`;

/** Swagger UI renders with inline styles and data: images; scripts come from this origin only. */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Package files rarely change but carry no version in their names: a day, then revalidate by ETag. */
const ASSET_CACHE = 'public, max-age=86400';
/** The page and the document change with each release: always revalidate (cheap, by ETag). */
const PAGE_CACHE = 'no-cache';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string): string {
  const t = escapeHtml(title);
  // Relative URLs: from /docs, `docs/assets/x` is /docs/assets/x.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t}</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="docs/assets/favicon-16x16.png" sizes="16x16">
</head>
<body>
<noscript>This page needs JavaScript. The API document itself is at <a href="openapi.json">openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/init.js"></script>
</body>
</html>
`;
}

interface Served {
  body: Buffer;
  type: string;
  etag: string;
  cache: string;
}

function served(body: Buffer | string, type: string, cache: string): Served {
  const buffer = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const etag = `"${createHash('sha256').update(buffer).digest('base64url').slice(0, 27)}"`;
  return { body: buffer, type, etag, cache };
}

/** The folder of swagger-ui-dist, by its own `absolutePath()` (without loading its 1.5 MB bundle into Node). */
function swaggerUiDir(): string {
  const require = createRequire(import.meta.url);
  const absolutePath = require('swagger-ui-dist/absolute-path.js') as () => string;
  return absolutePath();
}

export function docsRoutes(document: object, options: { title: string }): Middleware {
  const fixed = new Map<string, Served>([
    ['/openapi.json', served(JSON.stringify(document), 'application/json; charset=utf-8', PAGE_CACHE)],
    ['/docs', served(page(options.title), 'text/html; charset=utf-8', PAGE_CACHE)],
    ['/docs/assets/init.js', served(INIT_SCRIPT, 'application/javascript; charset=utf-8', ASSET_CACHE)],
  ]);
  /** Package files are read on first use, once per app. */
  const loaded = new Map<string, Promise<Served>>();
  let dir: string | undefined;
  const packageAsset = (name: string): Promise<Served> => {
    let file = loaded.get(name);
    if (!file) {
      dir ??= swaggerUiDir();
      file = readFile(path.join(dir, name)).then((body) => served(body, PACKAGE_ASSETS[name]!, ASSET_CACHE));
      file.catch(() => loaded.delete(name)); // a failed read is retried by the next request
      loaded.set(name, file);
    }
    return file;
  };

  /** The file at `p`, or undefined when it is not one of ours (an exact name, never a path to follow). */
  const find = (p: string): (() => Promise<Served>) | undefined => {
    const known = fixed.get(p);
    if (known) return async () => known;
    const name = p.startsWith('/docs/assets/') ? p.slice('/docs/assets/'.length) : undefined;
    return name !== undefined && Object.hasOwn(PACKAGE_ASSETS, name) ? () => packageAsset(name) : undefined;
  };

  const send = (ctx: Context, file: Served) => {
    ctx.set('Cache-Control', file.cache);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('ETag', file.etag);
    if (file.type.startsWith('text/html')) {
      ctx.set('Content-Security-Policy', DOCS_CSP);
      ctx.set('Referrer-Policy', 'no-referrer');
    }
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.type = file.type;
    ctx.body = file.body;
  };

  return async function docs(ctx, next) {
    const p = ctx.path;
    if (p !== '/openapi.json' && p !== '/docs' && p !== '/docs/' && !p.startsWith('/docs/assets/')) return next();
    if (p === '/docs/') {
      // The page's relative URLs need /docs; `../docs` stays right behind a path prefix too.
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
      ctx.state.route = '/docs/';
      ctx.status = 301;
      ctx.set('Location', '../docs');
      return;
    }
    const load = find(p);
    if (!load) return next();
    ctx.state.route = p.startsWith('/docs/assets/') ? '/docs/assets/:file' : p; // its template, like the router's
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD');
      ctx.status = 405; // the error middleware writes the body
      return;
    }
    send(ctx, await load());
  };
}

// ---------------------------------------------------------------------------------------------
// Building blocks of both services' OpenAPI documents.

const ref = (to: string): OpenApiReference => ({ $ref: to });

const EXAMPLE_REQUEST_ID = '3f0c2a8e-5a4b-4d7e-9a51-0f5d2f3c7b21';

/** An error body exactly as the error middleware writes it (same function), for examples. */
function errorExample(status: number, message: string, options: { name?: string; issues?: FieldIssue[] } = {}): ProblemBody {
  return {
    ...problemBody(status, options.name ?? NAME_BY_STATUS[status] ?? 'HttpError', message, options.issues),
    requestId: EXAMPLE_REQUEST_ID,
  };
}

/** Every JSON answer may be asked for as RFC 9457's own media type; errors then come as application/problem+json. */
function problemContent(example: ProblemBody): Record<string, OpenApiMediaType> {
  return {
    'application/json': { schema: ref('#/components/schemas/Error'), example },
    'application/problem+json': { schema: ref('#/components/schemas/Error'), example },
  };
}

export const openapiSchemas: Record<string, Schema> = {
  Error: {
    type: 'object',
    title: 'Error',
    description:
      "The error body of every 4xx and 5xx answer: the platform contract's `name` and `message`, plus the " +
      'RFC 9457 members `type`, `title`, `status` and `detail`, the request id, and for validation errors the ' +
      'list of `issues`, one per wrong field. `name` is stable (`ValidationError`, `BadRequestError`, ' +
      '`UnauthorizedError`, `NotFoundError`, `MethodNotAllowedError`, `ConflictError`, `PayloadTooLargeError`, ' +
      '`UnsupportedMediaTypeError`, `InternalServerError`, `ServiceUnavailableError`); `message` and `detail` ' +
      'are the same human-readable text. A 500 shows nothing internal.',
    properties: {
      type: {
        type: 'string',
        format: 'uri',
        description: 'A stable URN per kind of problem, e.g. `urn:hosting:problem:not-found`.',
        examples: ['urn:hosting:problem:not-found'],
      },
      title: { type: 'string', description: 'The HTTP reason phrase of `status`.', examples: ['Not Found'] },
      status: { type: 'integer', minimum: 400, maximum: 599, description: 'The HTTP status, repeated.' },
      detail: { type: 'string', description: 'What went wrong, for a human (same as `message`).' },
      name: { type: 'string', description: "The stable error name (the platform contract's field).", examples: ['NotFoundError'] },
      message: { type: 'string', description: "What went wrong, for a human (the platform contract's field)." },
      requestId: {
        type: 'string',
        pattern: '^[A-Za-z0-9._:-]{1,128}$',
        description: 'The request id, as in the `X-Request-Id` header: quote it when reporting a problem.',
      },
      issues: {
        type: 'array',
        description: 'Validation errors only: every field that is wrong.',
        items: ref('#/components/schemas/Issue'),
      },
    },
    required: ['type', 'title', 'status', 'detail', 'name', 'message'],
    additionalProperties: false,
    examples: [
      errorExample(400, 'Invalid query.page: must be a positive integer', {
        name: 'ValidationError',
        issues: [{ path: 'query.page', message: 'must be a positive integer' }],
      }),
    ],
  },
  Issue: {
    type: 'object',
    description: 'One wrong field of a request.',
    properties: {
      path: {
        type: 'string',
        description: 'Where: `query.page`, `path.id`, `body.status`, `body[3].payload.projectId`…',
        examples: ['body.status'],
      },
      message: { type: 'string', examples: ['is not a field of this request'] },
    },
    required: ['path', 'message'],
    additionalProperties: false,
  },
  Health: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['ok'] } },
    required: ['status'],
    additionalProperties: false,
  },
  Readiness: {
    type: 'object',
    properties: { status: { type: 'string', enum: ['ready'] } },
    required: ['status'],
    additionalProperties: false,
  },
};

export const openapiHeaders: Record<string, OpenApiHeader> = {
  'X-Request-Id': {
    description:
      "The request id: the caller's own `X-Request-Id` when it is 1–128 characters of `A-Za-z0-9._:-`, else a " +
      "generated uuid. It is in the service's log line of the request and in the error body.",
    required: true,
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
  },
  'WWW-Authenticate': {
    description: 'The authentication scheme to use.',
    required: true,
    schema: { type: 'string', enum: ['Bearer'] },
  },
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
};

const requestIdHeader = { 'X-Request-Id': ref('#/components/headers/X-Request-Id') };

/**
 * An error answer: the `Error` body (with an example of `status` saying `message`), `X-Request-Id`,
 * and `headers` (references to the components' headers) when the status carries more.
 */
export function openapiErrorResponse(
  description: string,
  example: { status: number; message: string; name?: string; issues?: FieldIssue[] },
  headers: Record<string, OpenApiReference> = {},
): Response {
  return {
    description,
    headers: { ...requestIdHeader, ...headers },
    content: problemContent(errorExample(example.status, example.message, { name: example.name, issues: example.issues })),
  };
}

/** Error answers both services give, referenced by every operation that can give them; `notFound` is an example message. */
export function openapiErrorResponses(examples: { notFound: string }): Record<string, Response> {
  return {
    BadRequest: openapiErrorResponse(
      'Bad input: a path or query parameter that is not valid, a body that is not valid JSON, or a body field ' +
        'that is missing, wrong or unknown (`ValidationError` with `issues`, one per field).',
      {
        status: 400,
        name: 'ValidationError',
        message: 'Invalid query.page: must be a positive integer',
        issues: [{ path: 'query.page', message: 'must be a positive integer' }],
      },
    ),
    Unauthorized: openapiErrorResponse(
      'Missing or wrong bearer token (`UnauthorizedError`).',
      { status: 401, message: 'Missing or invalid credentials' },
      { 'WWW-Authenticate': ref('#/components/headers/WWW-Authenticate') },
    ),
    NotFound: openapiErrorResponse('No such resource (`NotFoundError`).', { status: 404, message: examples.notFound }),
    PayloadTooLarge: openapiErrorResponse('The body is larger than this route accepts (`PayloadTooLargeError`).', {
      status: 413,
      message: 'request entity too large',
    }),
    UnsupportedMediaType: openapiErrorResponse('A body that is not `application/json` (`UnsupportedMediaTypeError`).', {
      status: 415,
      message: 'Request bodies must be application/json',
    }),
    InternalServerError: openapiErrorResponse(
      'A bug or an outage (`InternalServerError`). The body shows nothing internal; the log has the stack under the request id.',
      { status: 500, message: 'The service could not complete the request; it has been logged, try again later' },
    ),
    ServiceUnavailable: openapiErrorResponse(
      'The database took too long to answer (a statement or lock timeout): try again after `Retry-After` seconds (`ServiceUnavailableError`).',
      { status: 503, message: 'The database took too long to answer; try again shortly' },
      { 'Retry-After': ref('#/components/headers/Retry-After') },
    ),
  };
}

export const openapiParameters: Record<string, OpenApiParameter> = {
  'X-Request-Id': {
    name: 'X-Request-Id',
    in: 'header',
    required: false,
    description: 'Your id for this request (1–128 characters of `A-Za-z0-9._:-`), echoed in the answer; otherwise a uuid is generated.',
    schema: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' },
  },
};

/** The error responses an operation lists, by status, from the shared components. */
export function openapiErrors(...statuses: Array<400 | 401 | 404 | 413 | 415 | 500 | 503>): OpenApiResponses {
  const names: Record<number, string> = {
    400: 'BadRequest',
    401: 'Unauthorized',
    404: 'NotFound',
    413: 'PayloadTooLarge',
    415: 'UnsupportedMediaType',
    500: 'InternalServerError',
    503: 'ServiceUnavailable',
  };
  return Object.fromEntries(statuses.map((s) => [String(s), ref(`#/components/responses/${names[s]}`)]));
}

export const openapiMetricsScheme: OpenApiSecurityScheme = {
  type: 'http',
  scheme: 'bearer',
  description: '`METRICS_TOKEN`: a second token that `GET /metrics` accepts (for Prometheus), and nothing else does.',
};

/**
 * `/healthz`, `/readyz`, `/metrics` (served by the operational middleware in front of the routes)
 * and the documentation routes themselves. `tokenScheme` is the service's own token's scheme.
 */
export function openapiOperationalPaths(tokenScheme: string): Record<string, OpenApiPathItem> {
  const tag = ['operations'];
  const docTag = ['documentation'];
  const reqId = [ref('#/components/parameters/X-Request-Id')];
  return {
    '/healthz': {
      get: {
        tags: tag,
        operationId: 'getHealth',
        summary: 'Liveness',
        description: 'The process answers. It does not touch the database: a failing database must not get a live process restarted.',
        security: [],
        parameters: reqId,
        responses: {
          '200': {
            description: 'Alive.',
            headers: requestIdHeader,
            content: { 'application/json': { schema: ref('#/components/schemas/Health'), example: { status: 'ok' } } },
          },
          ...openapiErrors(500),
        },
      },
    },
    '/readyz': {
      get: {
        tags: tag,
        operationId: 'getReadiness',
        summary: 'Readiness',
        description:
          'Ready for traffic: the database answers within 1 s and the service is not shutting down. Otherwise a 503 with `Retry-After`: take this instance out of the load balancer for now.',
        security: [],
        parameters: reqId,
        responses: {
          '200': {
            description: 'Ready.',
            headers: requestIdHeader,
            content: { 'application/json': { schema: ref('#/components/schemas/Readiness'), example: { status: 'ready' } } },
          },
          '503': openapiErrorResponse(
            'Not ready: the database does not answer within 1 s, or the service is shutting down (`ServiceUnavailableError`).',
            { status: 503, message: 'Shutting down' },
            { 'Retry-After': ref('#/components/headers/Retry-After') },
          ),
          ...openapiErrors(500),
        },
      },
    },
    '/metrics': {
      get: {
        tags: tag,
        operationId: 'getMetrics',
        summary: 'Prometheus metrics',
        description:
          'The Prometheus text exposition: request durations by method, route template and status ' +
          "(`http_request_duration_seconds`), the Node.js process metrics, and the service's own gauges and counters. " +
          "Takes the service's own token or `METRICS_TOKEN`.",
        security: [{ [tokenScheme]: [] }, { metrics: [] }],
        parameters: reqId,
        responses: {
          '200': {
            description: 'The metrics.',
            headers: requestIdHeader,
            content: {
              'text/plain': {
                schema: { type: 'string' },
                example:
                  '# HELP http_request_duration_seconds HTTP request duration by method, route template and status\n# TYPE http_request_duration_seconds histogram\n',
              },
            },
          },
          ...openapiErrors(401, 500),
        },
      },
    },
    '/openapi.json': {
      get: {
        tags: docTag,
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        description: 'The OpenAPI 3.1 document of this service. No token needed.',
        security: [],
        responses: {
          '200': {
            description: 'The document.',
            headers: requestIdHeader,
            content: { 'application/json': { schema: { type: 'object', required: ['openapi', 'info', 'paths'] } } },
          },
          '304': { description: 'Not modified since the `ETag` in `If-None-Match`.', headers: requestIdHeader },
        },
      },
    },
    '/docs': {
      get: {
        tags: docTag,
        operationId: 'getDocs',
        summary: 'Interactive documentation',
        description:
          'Swagger UI on this document, served by the service itself (no CDN). No token needed to read it; use **Authorize** to try the routes.',
        security: [],
        responses: {
          '200': { description: 'The page.', headers: requestIdHeader, content: { 'text/html': { schema: { type: 'string' } } } },
          '304': { description: 'Not modified since the `ETag` in `If-None-Match`.', headers: requestIdHeader },
        },
      },
    },
    '/docs/assets/{file}': {
      get: {
        tags: docTag,
        operationId: 'getDocsAsset',
        summary: 'A file of the documentation page',
        description: 'Only these files; any other name is a 404.',
        security: [],
        parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string', enum: [...DOCS_ASSET_NAMES] } }],
        responses: {
          '200': {
            description: 'The file, cacheable for a day.',
            headers: requestIdHeader,
            content: {
              'application/javascript': { schema: { type: 'string' } },
              'text/css': { schema: { type: 'string' } },
              'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
            },
          },
          '304': { description: 'Not modified since the `ETag` in `If-None-Match`.', headers: requestIdHeader },
          ...openapiErrors(404),
        },
      },
    },
  };
}

/** Tags of the operational and documentation routes. */
export const openapiOperationalTags: OpenApiTag[] = [
  { name: 'operations', description: 'For operators and their tools: liveness, readiness, metrics.' },
  { name: 'documentation', description: 'This document and its interactive page.' },
];
