import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../logger.js';

/** What every request carries through the middleware chain. */
export interface RequestState {
  requestId: string;
  log: Logger;
}

/** A client's X-Request-Id is kept when it is short and plain; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function acceptRequestId(incoming: string | undefined): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Outermost middleware: gives the request its id (echoed in X-Request-Id) and a child logger,
 * and writes exactly one log line per request with method, route template, status and duration.
 */
export function requestContext(logger: Logger): Middleware {
  return async function context(ctx, next) {
    const requestId = acceptRequestId(ctx.get('X-Request-Id') || undefined);
    const log = logger.child({ requestId });
    ctx.state.requestId = requestId;
    ctx.state.log = log;
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } finally {
      const route = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
      log.info(
        {
          method: ctx.method,
          route: typeof route === 'string' ? route : undefined,
          path: ctx.path,
          status: ctx.status,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          ...(ctx.state.error ? { error: ctx.state.error } : {}),
        },
        'request',
      );
    }
  };
}
