import type { Middleware } from 'koa';
import type { RequestState } from '../request-context.js';
import {
  clientAddressKey,
  isGuess,
  memoryRateLimitStore,
  rateLimitHeaders,
  TooManyRequestsError,
  type RateLimitPolicy,
  type RateLimitStore,
} from './policy.js';

export interface FailedAuthOptions extends RateLimitPolicy {
  store?: RateLimitStore;
}

/**
 * Counts the 401s each client address earns downstream (whoever throws them: the bearer check, the
 * webhook's app secret, /metrics) and, once an address has earned `points` in its window, answers
 * each further failure of it 429 instead of 401 until the window ends.
 *
 * It never refuses a request before its credential was checked: a credential that verifies passes,
 * whatever others behind the same address (a CI fleet's shared egress, an office NAT) got wrong.
 * Each failure is counted when it happens and the count awaited before the answer goes out; the
 * store's increment is atomic and returns the failure's place in the window, so concurrent failures
 * whose 401 comes after I/O (the webhook's lookup, a key set fetch) cannot all pass as "within
 * budget": exactly `points` of them are 401s.
 */
export function failedAuthLimit(options: FailedAuthOptions): Middleware<RequestState> {
  const store = options.store ?? memoryRateLimitStore(options, 'auth-failures');
  const points = options.points;
  /** Counts one failure; the 429 to answer instead of the 401 when it is beyond the budget. */
  const overBudget = async (ctx: { ip: string; state: RequestState }): Promise<TooManyRequestsError | undefined> => {
    const key = clientAddressKey(ctx.ip);
    let res: Awaited<ReturnType<RateLimitStore['penalty']>>;
    try {
      res = await store.penalty(key);
    } catch (err) {
      ctx.state.log.warn({ err }, 'rate limit store failed; authentication failure not counted'); // fail open: an outage of the store is not ours to pass on
      return undefined;
    }
    if (res.consumedPoints <= points) return undefined;
    if (res.consumedPoints === points + 1) {
      ctx.state.log.warn(
        { clientAddress: key, failures: points, windowSeconds: options.windowSeconds },
        'authentication failures: budget spent, further failures from this address are answered 429 until the window ends',
      );
    }
    ctx.state.log.info({ clientAddress: key }, 'failed authentication answered 429: too many from this address');
    return new TooManyRequestsError(
      `Too many failed authentication attempts from this address; try again in ${Math.ceil(res.msBeforeNext / 1000)} s`,
      rateLimitHeaders(points, options.windowSeconds, res.msBeforeNext),
    );
  };
  return async function failedAuthGuard(ctx, next) {
    try {
      await next();
    } catch (err) {
      if (isGuess(err)) throw (await overBudget(ctx)) ?? err;
      throw err;
    }
    if (ctx.status === 401) {
      const refusal = await overBudget(ctx);
      if (refusal) throw refusal;
    }
  };
}
