import type { Middleware } from 'koa';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { RequestState } from '../request-context.js';
import { memoryRateLimitStore, rateLimitHeaders, TooManyRequestsError, type RateLimitPolicy, type RateLimitStore } from './policy.js';

export interface PerCredentialOptions extends RateLimitPolicy {
  store?: RateLimitStore;
  /** The credential's key; by default `ctx.state.principal.key` (requests without one pass). */
  keyOf?: (ctx: { get(field: string): string; state: RequestState }) => string | undefined;
}

/**
 * Counts every request of a credential and answers 429 beyond `points` per window. Mount it after
 * the authentication middleware (which sets `ctx.state.principal`), or give `keyOf`.
 */
export function perCredentialLimit(options: PerCredentialOptions): Middleware<RequestState> {
  const store = options.store ?? memoryRateLimitStore(options, 'credential');
  const keyOf = options.keyOf ?? ((ctx) => ctx.state.principal?.key);
  return async function perCredential(ctx, next) {
    const key = keyOf(ctx);
    if (key !== undefined) {
      try {
        await store.consume(key);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) {
          ctx.state.log.warn({ err }, 'rate limit store failed; request let through');
        } else {
          ctx.state.log.info({ credential: key }, 'request refused: rate limit of this credential reached');
          throw new TooManyRequestsError(
            `Rate limit of this credential reached (${options.points} requests per ${options.windowSeconds} s); try again in ${Math.ceil(err.msBeforeNext / 1000)} s`,
            rateLimitHeaders(options.points, options.windowSeconds, err.msBeforeNext),
          );
        }
      }
    }
    await next();
  };
}
