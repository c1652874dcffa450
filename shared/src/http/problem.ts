import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { AppError, NAME_BY_STATUS, type FieldIssue } from '../errors.js';
import { REQUEST_ID_PATTERN } from './request-context.js';

/** One wrong field of a request, as the error body lists it. */
export const issueSchema = z
  .object({
    path: z.string().meta({
      description: 'Where: `query.page`, `path.id`, `body.status`, `body[3].payload.projectId`…',
      examples: ['body.status'],
    }),
    message: z.string().meta({ examples: ['is not a field of this request'] }),
  })
  .meta({ id: 'Issue', description: 'One wrong field of a request.' });

const PROBLEM_TYPE_PREFIX = 'urn:hosting:problem:';

/** The request id of the documents' examples. */
export const EXAMPLE_REQUEST_ID = '3f0c2a8e-5a4b-4d7e-9a51-0f5d2f3c7b21';

function kebab(name: string): string {
  return name
    .replace(/Error$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

export function problemBody(status: number, name: string, message: string, issues?: FieldIssue[]): ProblemBody {
  return {
    type: PROBLEM_TYPE_PREFIX + kebab(name),
    title: STATUS_CODES[status] ?? 'Error',
    status,
    detail: message,
    name,
    message,
    ...(issues && issues.length > 0 ? { issues } : {}),
  };
}

/**
 * The error body of both services: the contract's `{ name, message }` plus the RFC 9457 members
 * `type`, `title`, `status`, `detail` (and `issues` for validation errors, `requestId` always).
 * The middleware below writes it; both OpenAPI documents show this schema.
 */
const problemShape = z.object({
  type: z.url().meta({
    description: 'A stable URN per kind of problem, e.g. `urn:hosting:problem:not-found`.',
    examples: ['urn:hosting:problem:not-found'],
  }),
  title: z.string().meta({ description: 'The HTTP reason phrase of `status`.', examples: ['Not Found'] }),
  status: z.int().min(400).max(599).meta({ description: 'The HTTP status, repeated.' }),
  detail: z.string().meta({ description: 'What went wrong, for a human (same as `message`).' }),
  name: z.string().meta({ description: "The stable error name (the platform contract's field).", examples: ['NotFoundError'] }),
  message: z.string().meta({ description: "What went wrong, for a human (the platform contract's field)." }),
  requestId: z
    .string()
    .regex(REQUEST_ID_PATTERN)
    .optional()
    .meta({ description: 'The request id, as in the `X-Request-Id` header: quote it when reporting a problem.' }),
  issues: z.array(issueSchema).optional().meta({ description: 'Validation errors only: every field that is wrong.' }),
});

export type ProblemBody = z.infer<typeof problemShape>;

export const problemSchema = problemShape.meta({
  id: 'Error',
  title: 'Error',
  description:
    "The error body of every 4xx and 5xx answer: the platform contract's `name` and `message`, plus the " +
    'RFC 9457 members `type`, `title`, `status` and `detail`, the request id, and for validation errors the ' +
    'list of `issues`, one per wrong field. `name` is stable (`ValidationError`, `BadRequestError`, ' +
    '`UnauthorizedError`, `NotFoundError`, `MethodNotAllowedError`, `ConflictError`, `PayloadTooLargeError`, ' +
    '`UnsupportedMediaTypeError`, `InternalServerError`, `ServiceUnavailableError`); `message` and `detail` ' +
    'are the same human-readable text. A 500 shows nothing internal.',
  examples: [
    {
      ...problemBody(400, 'ValidationError', 'Invalid query.page: must be a positive integer', [
        { path: 'query.page', message: 'must be a positive integer' },
      ]),
      requestId: EXAMPLE_REQUEST_ID,
    },
  ],
});

/** PostgreSQL SQLSTATEs that mean "the database took too long", answered as a clean 503. */
const TIMEOUT_SQLSTATES = new Set(['57014' /* query_canceled (statement_timeout) */, '55P03' /* lock_not_available */]);

interface ErrorLike {
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
  message?: unknown;
  code?: unknown;
  headers?: unknown;
}

interface Classified {
  status: number;
  name: string;
  message: string;
  issues?: FieldIssue[];
  headers: Record<string, string>;
  /** True when this is our bug or an outage, to be logged with its stack. */
  unexpected: boolean;
}

/** The database could not serve the request in time: an outage, logged, and worth retrying in a second. */
const databaseUnavailable = (message: string): Classified => ({
  status: 503,
  name: 'ServiceUnavailableError',
  message,
  headers: { 'Retry-After': '1' },
  unexpected: true,
});

export function classifyError(err: unknown): Classified {
  if (err instanceof AppError) {
    return {
      status: err.status,
      name: err.name,
      message: err.message,
      issues: err.issues,
      headers: err.headers,
      unexpected: err.status >= 500,
    };
  }
  const e = (err ?? {}) as ErrorLike;
  if (typeof e.code === 'string' && TIMEOUT_SQLSTATES.has(e.code)) {
    return databaseUnavailable('The database took too long to answer; try again shortly');
  }
  // knex waited `acquireConnectionTimeout` for a pool connection: every connection is busy, an
  // overload rather than a bug, and nothing was written.
  if ((err as { name?: unknown } | undefined)?.name === 'KnexTimeoutError') {
    return databaseUnavailable('Every database connection is busy; try again shortly');
  }
  const raw = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
  const status = raw >= 400 && raw <= 599 ? raw : 500;
  // Errors raised by Koa middleware (http-errors) say whether their message is safe to show.
  if (status < 500 && e.expose !== false) {
    const headers: Record<string, string> = {};
    if (e.headers && typeof e.headers === 'object') {
      for (const [k, v] of Object.entries(e.headers as Record<string, unknown>)) if (typeof v === 'string') headers[k] = v;
    }
    const message = typeof e.message === 'string' && e.message ? e.message : (STATUS_CODES[status] ?? 'Error');
    return { status, name: NAME_BY_STATUS[status] ?? 'HttpError', message, headers, unexpected: false };
  }
  return {
    status: 500,
    name: 'InternalServerError',
    message: 'The service could not complete the request; it has been logged, try again later',
    headers: {},
    unexpected: true,
  };
}

/**
 * A request with two `Authorization` lines carries no credential we can trust: Node keeps the
 * first and drops the rest, a proxy in front may have checked the last. It is treated as one
 * without any (so a route behind a credential answers 401), whatever the copies say. Found by
 * the attack suite: `Bearer <valid>` then `Bearer <junk>` was a 200.
 */
function dropAmbiguousCredentials(req: IncomingMessage): void {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'authorization') count++;
  if (count > 1) delete req.headers.authorization;
}

/**
 * Turns every error into the contract's error body. Mounted first, so that nothing (not even an
 * error thrown by another middleware) comes back as Koa's plain text.
 */
export function problemMiddleware(): Middleware {
  return async function problem(ctx, next) {
    try {
      dropAmbiguousCredentials(ctx.req);
      await next();
      // Statuses set without a body (no route matched, the router's 405/501) get the error body too.
      if (ctx.status >= 400 && (ctx.body === undefined || ctx.body === null)) {
        const status = ctx.status;
        const allow = ctx.response.get('Allow');
        const message =
          status === 404
            ? `No route for ${ctx.method} ${ctx.path}`
            : status === 405
              ? `Method ${ctx.method} is not allowed on ${ctx.path}${allow ? `; allowed: ${allow}` : ''}`
              : (STATUS_CODES[status] ?? 'Error');
        throw new AppError(status, NAME_BY_STATUS[status] ?? 'HttpError', message);
      }
    } catch (err) {
      const c = classifyError(err);
      const log = (ctx.state as { log?: { error: (o: object, m: string) => void } }).log;
      if (c.unexpected && log) log.error({ err }, 'request failed');
      ctx.state.error = { name: c.name, status: c.status };
      const body: ProblemBody = problemBody(c.status, c.name, c.message, c.issues);
      const requestId = (ctx.state as { requestId?: string }).requestId;
      if (requestId) body.requestId = requestId;
      ctx.status = c.status;
      ctx.set(c.headers);
      ctx.body = body;
      // The contract says application/json; a client that asks for RFC 9457's own type gets it.
      ctx.type = /application\/problem\+json/i.test(ctx.get('Accept')) ? 'application/problem+json' : 'application/json';
    }
  };
}
