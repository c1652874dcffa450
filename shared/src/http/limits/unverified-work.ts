import type { Middleware } from 'koa';
import { ServiceUnavailableError } from '../../errors.js';
import type { RequestState } from '../request-context.js';
import { clientAddressKey, isGuess, rateLimitHeaders, TooManyRequestsError } from './policy.js';

export interface UnverifiedWorkPolicy {
  /** Requests whose credential is not verified yet that one client address may have in progress at once. */
  perAddress: number;
  /** The same for all addresses together; below the database pool, so verified work always finds a connection. */
  total: number;
  /** How long a request may wait for a slot before it is refused; keep it under the request timeout. */
  maxWaitMs: number;
}

/** How long a credential that got a 2xx is treated as verified by the cap below, and how many are kept. */
const VERIFIED_TTL_MS = 10 * 60_000;
const VERIFIED_MAX = 10_000;
/** Requests of one address that may wait for a slot; beyond, refused at once (a flood is not worth queueing). */
const WAITING_PER_ADDRESS = 64;

/**
 * A cap on the database work done for requests whose credential is not verified yet: a route that
 * can only check its credential against the database (the webhook's app secret) would otherwise
 * let anyone with any bearer string take a pool connection per request. Each app has one (the
 * counts are shared by every route it guards); a route mounts it with the key of its credential,
 * right before the work (after the body is read, so a slow sender holds no slot).
 *
 * At most `perAddress` such requests of one client address and `total` in all are in progress. A
 * request beyond waits for a slot (holding no connection; slots go round the waiting addresses in
 * turn) for up to `maxWaitMs`, so a burst of first reports from a CI fleet's shared address is
 * served a few at a time; beyond `WAITING_PER_ADDRESS` waiting, or after the wait, it is refused
 * without touching the database: 429 when its own address holds its slots, else 503.
 *
 * A credential that got a 2xx answer lately (ten minutes, in this process) has shown it verifies:
 * it skips the cap, so a CI job keeps reporting while a flood from its own runner address is
 * refused (it is still checked against the database as always; a 401 forgets it). Requests that
 * arrive with a credential whose first request is being checked wait for that answer rather than
 * take slots of their own. The counts are of requests in progress in this process, whose pool
 * they protect: they need no shared store.
 */
export function unverifiedWorkLimit(policy: UnverifiedWorkPolicy) {
  const inProgress = new Map<string, number>();
  let total = 0;
  /** Per address, in arrival order; the Map's own order is the turn of the addresses. */
  const waiting = new Map<string, Array<() => void>>();
  const verified = new Map<string, number>();
  /** Credentials whose first unverified request is being checked: settles with its answer. */
  const checking = new Map<string, Promise<void>>();
  const knownGood = (credential: string | undefined) => credential !== undefined && (verified.get(credential) ?? 0) > Date.now();
  const remember = (credential: string) => {
    verified.delete(credential); // re-inserted last: the Map's order is then oldest first
    verified.set(credential, Date.now() + VERIFIED_TTL_MS);
    if (verified.size > VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  };
  const free = (address: string) => (inProgress.get(address) ?? 0) < policy.perAddress && total < policy.total;
  const start = (address: string) => {
    inProgress.set(address, (inProgress.get(address) ?? 0) + 1);
    total++;
  };
  /** Hands freed slots to waiting requests, one address after another. */
  const handOut = () => {
    const served: string[] = [];
    for (const [address, queue] of waiting) {
      if (total >= policy.total) break;
      while (queue.length > 0 && free(address)) {
        start(address);
        queue.shift()!();
        served.push(address);
      }
    }
    for (const address of served) {
      const queue = waiting.get(address);
      waiting.delete(address);
      if (queue && queue.length > 0) waiting.set(address, queue); // to the back of the turn
    }
  };
  const finish = (address: string) => {
    const left = inProgress.get(address)! - 1;
    if (left === 0) inProgress.delete(address);
    else inProgress.set(address, left);
    total--;
    handOut();
  };
  /** A slot for `address`, now or after a wait of up to `waitMs`; false when there is none to be had. */
  const slot = (address: string, waitMs: number): Promise<boolean> | boolean => {
    if (free(address)) {
      start(address);
      return true;
    }
    const queue = waiting.get(address) ?? [];
    if (queue.length >= WAITING_PER_ADDRESS || waitMs <= 0) return false;
    waiting.set(address, queue);
    return new Promise<boolean>((resolve) => {
      const granted = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        queue.splice(queue.indexOf(granted), 1);
        if (queue.length === 0 && waiting.get(address) === queue) waiting.delete(address);
        resolve(false);
      }, waitMs);
      queue.push(granted);
    });
  };
  return function keyedBy(
    keyOf: (ctx: { get(field: string): string; state: RequestState }) => string | undefined,
  ): Middleware<RequestState> {
    return async function unverifiedWork(ctx, next) {
      const credential = keyOf(ctx);
      // One deadline for all waiting, so a request is refused before the request timeout answers it.
      const deadline = Date.now() + policy.maxWaitMs;
      // Concurrent requests with one credential (a CI pipeline's parallel jobs reporting at once)
      // wait for the first one's answer instead of taking slots, once: if it verified, they pass.
      const first = credential === undefined || knownGood(credential) ? undefined : checking.get(credential);
      if (first) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([first, new Promise<void>((resolve) => (timer = setTimeout(resolve, policy.maxWaitMs)))]);
        clearTimeout(timer);
      }
      let address: string | undefined;
      let settle: (() => void) | undefined;
      if (!knownGood(credential)) {
        const from = clientAddressKey(ctx.ip);
        if (!(await slot(from, deadline - Date.now()))) {
          const mine = inProgress.get(from) ?? 0;
          if (mine >= policy.perAddress) {
            ctx.state.log.info(
              { clientAddress: from, inProgress: mine },
              'request refused: too many unverified requests of this address in progress',
            );
            throw new TooManyRequestsError(
              `Too many requests with a credential not verified yet from this address in progress (at most ${policy.perAddress} at once); try again in 1 s`,
              rateLimitHeaders(policy.perAddress, 1, 1_000),
            );
          }
          ctx.state.log.warn({ inProgress: total }, 'request refused: too many unverified requests in progress');
          throw new ServiceUnavailableError('Too many requests with a credential not verified yet are in progress; try again shortly', 1);
        }
        address = from;
        if (credential !== undefined && !checking.has(credential)) {
          checking.set(credential, new Promise<void>((resolve) => (settle = resolve)));
        }
      }
      try {
        await next();
        if (credential !== undefined && ctx.status >= 200 && ctx.status < 300) remember(credential);
      } catch (err) {
        if (credential !== undefined && isGuess(err)) verified.delete(credential);
        throw err;
      } finally {
        if (address !== undefined) finish(address);
        if (settle) {
          checking.delete(credential!);
          settle();
        }
      }
    };
  };
}
