import type { Middleware, ParameterizedContext } from 'koa';
import { problemBody } from './problem.js';
import type { RequestState } from './request-context.js';

const TIMED_OUT = Symbol('timed out');

/** Frees what a late handler hands over as a body (a stream holding a database cursor, a subscription). */
function discard(late: unknown): void {
  const stream = late as { destroy?: (err?: Error) => void } | null;
  if (stream && typeof stream === 'object' && typeof stream.destroy === 'function') stream.destroy();
}

/**
 * Answers `503 ServiceUnavailableError` with `Retry-After` and seals the response: the late
 * handler's status, body and headers are ignored (a body it sets is destroyed when it is a stream),
 * so it can neither change nor send a second answer.
 */
function answerTimedOut(ctx: ParameterizedContext<RequestState>, timeoutMs: number): void {
  const body = problemBody(503, 'ServiceUnavailableError', 'The request took too long to complete; try again shortly');
  if (ctx.state.requestId) body.requestId = ctx.state.requestId;
  (ctx.state as { error?: object }).error = { name: body.name, status: 503 }; // for the request's log line
  ctx.status = 503;
  ctx.set('Retry-After', '1');
  ctx.type = /application\/problem\+json/i.test(ctx.get('Accept')) ? 'application/problem+json' : 'application/json';
  ctx.body = JSON.stringify(body); // a string: its length is set now, nothing is left to set after sealing
  const response = ctx.response;
  const sealed = { status: response.status, body: response.body };
  Object.defineProperty(response, 'status', { configurable: true, get: () => sealed.status, set: () => undefined });
  Object.defineProperty(response, 'body', { configurable: true, get: () => sealed.body, set: discard });
  for (const method of ['set', 'append', 'remove', 'redirect', 'attachment', 'vary'] as const) {
    Object.defineProperty(response, method, { configurable: true, value: () => undefined });
  }
  ctx.state.log.warn({ timeoutMs, path: ctx.path }, 'request timed out; answered 503');
}

/**
 * Answers a request that is not done after `timeoutMs` with a 503 and `Retry-After` (in the error
 * shape), and lets the work behind it finish in the background (its statements are bounded by the
 * database's statement_timeout), logging how it ended. Routes that stream are exempt once they
 * have set their stream as the body (their handler has returned by then) or sent their headers.
 */
export function requestTimeout(timeoutMs: number): Middleware<RequestState> {
  return async function timeout(ctx, next) {
    let timer: NodeJS.Timeout | undefined;
    const work = next();
    const expired = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, TIMED_OUT);
    });
    try {
      if ((await Promise.race([work, expired])) !== TIMED_OUT) return;
    } finally {
      clearTimeout(timer);
    }
    // Already streaming (headers sent by the handler itself): not ours to interrupt.
    if (ctx.headerSent || ctx.respond === false) {
      await work;
      return;
    }
    const started = performance.now();
    const log = ctx.state.log;
    answerTimedOut(ctx, timeoutMs);
    work.then(
      () => log.warn({ lateMs: Math.round(performance.now() - started) }, 'timed-out request finished after its 503'),
      (err: unknown) => log.warn({ lateMs: Math.round(performance.now() - started), err }, 'timed-out request failed after its 503'),
    );
  };
}
