import type { Middleware } from 'koa';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { z } from 'zod';
import { AppError, ServiceUnavailableError } from '../errors.js';
import { sha256 } from './auth.js';
import type { RequestState } from './request-context.js';

/**
 * Rate limits of both services, answered with `429 TooManyRequestsError`, `Retry-After` and the
 * IETF `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy` headers
 * (draft-ietf-httpapi-ratelimit-headers, the field-per-value form):
 *
 * - **failed authentication per client address**: every 401 an address earns is counted; once it
 *   has earned `points` in a window, each further failure of it is answered 429 instead of 401 until
 *   the window ends. A credential that verifies is never refused (many callers share an address);
 *   our secrets are high-entropy, so answering a correct guess costs nothing: the 429 tells a
 *   misconfigured client to stop, it is not what keeps a secret from being guessed. A success does
 *   not refund anything.
 * - **per credential**: each authenticated credential (`ctx.state.principal.key`, or the key a
 *   route names, like the webhook's digest of the presented app secret) may make `points` requests
 *   per window; beyond, 429 until the window ends.
 *
 * The headers are on 429 answers only: a success answer does not carry them (nothing to compute or
 * send on the hot path, and with several instances a per-process "remaining" would mislead).
 *
 * The counts live in the process's memory (`RateLimiterMemory`): behind a load balancer each
 * instance counts on its own, so the effective limit is N times the configured one. Instances that
 * must share the counts pass a shared store (rate-limiter-flexible's `RateLimiterPostgres` or
 * `RateLimiterRedis`, which have the same interface) as `store`; each request then awaits it.
 */

/** Where a limit counts: rate-limiter-flexible's memory limiter by default, any of its stores otherwise. */
export interface RateLimitStore {
  readonly points: number;
  /** The window, in seconds. */
  readonly duration: number;
  consume(key: string | number, points?: number): Promise<RateLimiterRes>;
  penalty(key: string | number, points?: number): Promise<RateLimiterRes>;
  get(key: string | number): Promise<RateLimiterRes | null>;
}

export interface RateLimitPolicy {
  /** Requests (or failures) allowed per window. */
  points: number;
  /** The window, in seconds. */
  windowSeconds: number;
}

/** A fixed-window limit in this process's memory. */
export function memoryRateLimitStore(policy: RateLimitPolicy, keyPrefix: string): RateLimitStore {
  return new RateLimiterMemory({ points: policy.points, duration: policy.windowSeconds, keyPrefix });
}

/** The headers of a 429: when to come back and the policy that was hit. */
export function rateLimitHeaders(limit: number, windowSeconds: number, msBeforeNext: number): Record<string, string> {
  const reset = String(Math.max(1, Math.ceil(msBeforeNext / 1000)));
  return {
    'Retry-After': reset,
    'RateLimit-Limit': String(limit),
    'RateLimit-Remaining': '0',
    'RateLimit-Reset': reset,
    'RateLimit-Policy': `${limit};w=${windowSeconds}`,
  };
}

export class TooManyRequestsError extends AppError {
  constructor(message: string, headers: Record<string, string>) {
    super(429, 'TooManyRequestsError', message, { headers });
  }
}

/**
 * The key of a client address: IPv4 as it is (an IPv4-mapped IPv6 address as its IPv4), IPv6 by
 * its /64 network, since one machine commonly holds a whole /64 and could otherwise step through it.
 */
export function clientAddressKey(ip: string): string {
  if (!ip.includes(':')) return ip || 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const bare = ip.split('%')[0]!.toLowerCase();
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** A stable, non-secret key for a presented secret (its SHA-256, shortened): never the secret itself. */
export function secretKey(kind: string, secret: string): string {
  return `${kind}:${sha256(secret).toString('base64url').slice(0, 22)}`;
}

/**
 * A 401 that counts against the client address. Authentication code may mark one that is no guess
 * with `countsAsGuess = false` (e.g. a correctly signed JWT that has just expired: an admin panel
 * polling with a stale session must not lock its office out).
 */
function isGuess(err: unknown): boolean {
  const e = err as { status?: unknown; statusCode?: unknown; countsAsGuess?: unknown } | null;
  return e !== null && typeof e === 'object' && (e.status === 401 || e.statusCode === 401) && e.countsAsGuess !== false;
}

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
    let res: RateLimiterRes;
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

/** `first`, then `second`, as one middleware (e.g. authentication, then its rate limit). */
export function chain<S>(first: Middleware<S>, second: Middleware<S>): Middleware<S> {
  return (ctx, next) => first(ctx, () => second(ctx, next));
}

/** The settings of both services' limits (all optional: the defaults below apply). */
export interface LimitsConfig {
  /** 401s one client address may earn per `RATE_LIMIT_AUTH_WINDOW_S` before it gets 429s. */
  RATE_LIMIT_AUTH_FAILURES?: number;
  RATE_LIMIT_AUTH_WINDOW_S?: number;
  /** Requests one credential may make per `RATE_LIMIT_PER_CREDENTIAL_WINDOW_S`. */
  RATE_LIMIT_PER_CREDENTIAL?: number;
  RATE_LIMIT_PER_CREDENTIAL_WINDOW_S?: number;
  /** A request not answered after this long is a 503 (streams are exempt once they started). */
  REQUEST_TIMEOUT_MS?: number;
  /** Proxies in front of the service whose X-Forwarded-For is believed; 0: none, the socket's address counts. */
  TRUST_PROXY?: number;
  /** Requests whose credential is not verified yet that may do database work at once, per client address and in all. */
  UNVERIFIED_MAX_PER_ADDRESS?: number;
  UNVERIFIED_MAX_TOTAL?: number;
}

export const LIMIT_DEFAULTS = {
  RATE_LIMIT_AUTH_FAILURES: 20,
  RATE_LIMIT_AUTH_WINDOW_S: 60,
  RATE_LIMIT_PER_CREDENTIAL: 300_000,
  RATE_LIMIT_PER_CREDENTIAL_WINDOW_S: 10,
  REQUEST_TIMEOUT_MS: 4_000,
  TRUST_PROXY: 0,
  UNVERIFIED_MAX_PER_ADDRESS: 2,
  UNVERIFIED_MAX_TOTAL: 4,
} as const satisfies Required<LimitsConfig>;

export interface HttpLimits {
  /** The failed-authentication guard: before every route that takes a credential. */
  failedAuth: Middleware<RequestState>;
  /** The per-credential limit: after the authentication middleware. */
  perCredential: Middleware<RequestState>;
  /** The same limit (and counts) for a route that names the credential itself (the webhook: its app secret's digest). */
  perCredentialKeyedBy(keyOf: (ctx: { get(field: string): string; state: RequestState }) => string | undefined): Middleware<RequestState>;
  /** The cap on database work before a credential is verified, for a route that names its credential's key (the webhook). */
  unverifiedWorkKeyedBy(keyOf: (ctx: { get(field: string): string; state: RequestState }) => string | undefined): Middleware<RequestState>;
  /** The request timeout, in milliseconds. */
  requestTimeoutMs: number;
}

/** The limits of one app, from its config (defaults for what it leaves out), counted in this process's memory. */
export function createHttpLimits(
  config: LimitsConfig,
  stores: { failedAuth?: RateLimitStore; perCredential?: RateLimitStore } = {},
): HttpLimits {
  const perCredentialPolicy = {
    points: config.RATE_LIMIT_PER_CREDENTIAL ?? LIMIT_DEFAULTS.RATE_LIMIT_PER_CREDENTIAL,
    windowSeconds: config.RATE_LIMIT_PER_CREDENTIAL_WINDOW_S ?? LIMIT_DEFAULTS.RATE_LIMIT_PER_CREDENTIAL_WINDOW_S,
  };
  const perCredentialStore = stores.perCredential ?? memoryRateLimitStore(perCredentialPolicy, 'credential');
  const requestTimeoutMs = config.REQUEST_TIMEOUT_MS ?? LIMIT_DEFAULTS.REQUEST_TIMEOUT_MS;
  return {
    failedAuth: failedAuthLimit({
      points: config.RATE_LIMIT_AUTH_FAILURES ?? LIMIT_DEFAULTS.RATE_LIMIT_AUTH_FAILURES,
      windowSeconds: config.RATE_LIMIT_AUTH_WINDOW_S ?? LIMIT_DEFAULTS.RATE_LIMIT_AUTH_WINDOW_S,
      store: stores.failedAuth,
    }),
    perCredential: perCredentialLimit({ ...perCredentialPolicy, store: perCredentialStore }),
    perCredentialKeyedBy: (keyOf) => perCredentialLimit({ ...perCredentialPolicy, store: perCredentialStore, keyOf }),
    unverifiedWorkKeyedBy: unverifiedWorkLimit({
      perAddress: config.UNVERIFIED_MAX_PER_ADDRESS ?? LIMIT_DEFAULTS.UNVERIFIED_MAX_PER_ADDRESS,
      total: config.UNVERIFIED_MAX_TOTAL ?? LIMIT_DEFAULTS.UNVERIFIED_MAX_TOTAL,
      // A waiting request must be refused before the request timeout answers it (else its late work would still run).
      maxWaitMs: Math.min(1_000, Math.floor(requestTimeoutMs / 2)),
    }),
    requestTimeoutMs,
  };
}

/** X-Forwarded-For counts only with `TRUST_PROXY` > 0, and then only its last `TRUST_PROXY` entries (those our proxies wrote). */
export function trustProxy(app: { proxy: boolean; maxIpsCount: number }, hops: number | undefined): void {
  app.proxy = (hops ?? 0) > 0;
  app.maxIpsCount = hops ?? 0;
}

/** The environment variables of the limits, for both services' config schemas (spread into them). */
export const limitsEnv = {
  /** Failed authentications (401) one client address may earn per window; then 429 for that address until the window ends. */
  RATE_LIMIT_AUTH_FAILURES: z.coerce.number().int().min(1).max(1_000_000).default(LIMIT_DEFAULTS.RATE_LIMIT_AUTH_FAILURES),
  RATE_LIMIT_AUTH_WINDOW_S: z.coerce.number().int().min(1).max(86_400).default(LIMIT_DEFAULTS.RATE_LIMIT_AUTH_WINDOW_S),
  /** Requests one credential may make per window; beyond, 429 until the window ends. */
  RATE_LIMIT_PER_CREDENTIAL: z.coerce.number().int().min(1).max(100_000_000).default(LIMIT_DEFAULTS.RATE_LIMIT_PER_CREDENTIAL),
  RATE_LIMIT_PER_CREDENTIAL_WINDOW_S: z.coerce.number().int().min(1).max(86_400).default(LIMIT_DEFAULTS.RATE_LIMIT_PER_CREDENTIAL_WINDOW_S),
  /** A request not done after this long is answered 503 + Retry-After; keep it above DB_STATEMENT_TIMEOUT_MS. */
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(LIMIT_DEFAULTS.REQUEST_TIMEOUT_MS),
  /**
   * The proxies in front of the service whose X-Forwarded-For entries are believed: `false` (or 0,
   * the default: the header is ignored, the socket's address counts), `true` (one), or their number.
   */
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|[0-9])$/, 'must be false, true (one proxy) or the number of proxies (0-9)')
    .default('false')
    .transform((v) => (v === 'false' ? 0 : v === 'true' ? 1 : Number(v))),
  /**
   * Requests whose credential can only be checked against the database (the webhook's app secret)
   * and is not verified yet: at most this many in progress per client address and in all; beyond, a
   * request waits up to 1 s, then 429 (its address's slots) or 503 (others'). UNVERIFIED_MAX_TOTAL
   * must stay below DB_POOL_MAX (each service's loadConfig checks).
   */
  UNVERIFIED_MAX_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000).default(LIMIT_DEFAULTS.UNVERIFIED_MAX_PER_ADDRESS),
  UNVERIFIED_MAX_TOTAL: z.coerce.number().int().min(1).max(1_000).default(LIMIT_DEFAULTS.UNVERIFIED_MAX_TOTAL),
};

/** The problem with a config whose cap on unverified work does not leave the pool room for verified work, if any. */
export function unverifiedCapProblem(config: { UNVERIFIED_MAX_TOTAL: number; DB_POOL_MAX: number }): string | undefined {
  return config.UNVERIFIED_MAX_TOTAL < config.DB_POOL_MAX
    ? undefined
    : `UNVERIFIED_MAX_TOTAL: must be below DB_POOL_MAX (${config.DB_POOL_MAX}), or unverified requests could take the whole database pool (it is ${config.UNVERIFIED_MAX_TOTAL})`;
}
