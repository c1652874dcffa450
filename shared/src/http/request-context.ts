import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../logger.js';

/** What every request carries through the middleware chain. */
export interface RequestState {
  requestId: string;
  log: Logger;
  /**
   * Who the request authenticated as, set by the authentication middleware once the credential
   * is verified. `key` is a stable, non-secret identifier of the credential (never the secret
   * itself): rate limits and idempotency keys are scoped by it.
   */
  principal?: Principal;
  /**
   * The route template of a request answered outside the router (`/healthz`, `/metrics`,
   * `/openapi.json`, `/docs/assets/:file`…), set by the middleware that answers it: the label its
   * duration is counted under, like a router's template.
   */
  route?: string;
  /** The error a request ended with, as its log line names it (set by the error middleware and the request timeout). */
  error?: { name: string; status: number };
}

/**
 * The authenticated caller: a machine holding the static service token, an identity-provider
 * user with the admin claim, an identity-provider user mapped to one of our users, or a CI
 * system holding a project's app secret (the webhook).
 */
export type Principal =
  | { kind: 'service'; key: string }
  | { kind: 'admin'; key: string; subject: string }
  | { kind: 'user'; key: string; subject: string; userId: number }
  | { kind: 'project'; key: string; projectId: number };

/** What the request context knows of a finished request (for the log line and the metrics). */
export interface RequestSummary {
  method: string;
  route: string | undefined;
  status: number;
  durationMs: number;
}

const PROBES = new Set(['/healthz', '/readyz']);

/** What @koa/router documents on the context: the template of the layer that ran, and every layer whose path matched. */
interface RoutedContext {
  routerPath?: string;
  matched?: Array<{ path: string | RegExp; methods: string[] }>;
  state: RequestState;
}

/**
 * The route template a request is logged and counted under (a bounded set, never the raw path):
 * the router's route that ran; else what an operational middleware answered as; else, for a
 * method the path does not take (405), the template of the route whose path matched. Undefined
 * only when nothing matched the path: a real 404, counted as `unmatched`.
 */
export function routeOf(ctx: RoutedContext): string | undefined {
  if (typeof ctx.routerPath === 'string') return ctx.routerPath;
  if (ctx.state.route !== undefined) return ctx.state.route;
  const layer = ctx.matched?.findLast((l) => l.methods.length > 0 && typeof l.path === 'string');
  return layer?.path as string | undefined;
}

/** A client's X-Request-Id is kept when it is short and plain; anything else is replaced. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function acceptRequestId(incoming: string | undefined): string {
  return incoming && REQUEST_ID_PATTERN.test(incoming) ? incoming : randomUUID();
}

/**
 * Outermost middleware: gives the request its id (echoed in X-Request-Id) and a child logger,
 * and writes exactly one log line per request with method, route template, status and duration
 * (at debug for an answered /healthz or /readyz, at info for everything else).
 */
export function requestContext(logger: Logger, onFinish?: (summary: RequestSummary) => void): Middleware<RequestState> {
  // The request line of a request without an error holds only the fields below, all primitives
  // under names no redaction path matches, so it goes out through a sibling without redaction:
  // the same line for less CPU: the wildcard paths are checked per line (WRITEUP.md, Performance at
  // a million deployments).
  const plain = logger.child({}, { redact: [] });
  return async function context(ctx, next) {
    const requestId = acceptRequestId(ctx.get('X-Request-Id') || undefined);
    // The child logger is made when a handler first logs: most requests write only the line below,
    // which carries the request id itself (same JSON as the child's, without making one).
    let child: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', {
      get: () => (child ??= logger.child({ requestId })),
      set: (value: Logger) => (child = value),
      enumerable: true,
      configurable: true,
    });
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      const summary: RequestSummary = {
        method: ctx.method,
        route: routeOf(ctx),
        status: ctx.status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
      };
      const error = ctx.state.error;
      // An answered health probe (Docker's HEALTHCHECK, a balancer) comes every few seconds and
      // says nothing new: its line goes out at debug. A failing probe stays at info.
      if (!error && summary.status < 400 && PROBES.has(ctx.path)) plain.debug({ requestId, ...summary, path: ctx.path }, 'request');
      else if (!error) plain.info({ requestId, ...summary, path: ctx.path }, 'request');
      else if (child) child.info({ ...summary, path: ctx.path, error }, 'request');
      else logger.info({ requestId, ...summary, path: ctx.path, error }, 'request');
      onFinish?.(summary);
    }
  };
}
