import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import { AppError } from '../../errors.js';
import { sha256 } from '../auth.js';

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
 * Where the counts live is the store's business (`RATE_LIMIT_STORE`): this process's memory
 * (`memoryRateLimitStore`: behind a load balancer each replica counts on its own, so N replicas
 * admit N times the budget), or PostgreSQL, shared by every replica (`postgresRateLimitStore`, with
 * in-memory fast paths so that a request under its limit needs no round trip).
 */

/** Where a limit counts. */
export interface RateLimitStore {
  /** Counts a request of `key`; rejects with a `RateLimiterRes` (its `msBeforeNext`: when to come back) beyond the limit. */
  consume(key: string): Promise<unknown>;
  /** Counts a failure of `key`; resolves with its place in the window (`consumedPoints`) and the window's end (`msBeforeNext`). */
  penalty(key: string): Promise<Pick<RateLimiterRes, 'consumedPoints' | 'msBeforeNext'>>;
}

export interface RateLimitPolicy {
  /** Requests (or failures) allowed per window. */
  points: number;
  /** The window, in seconds. */
  windowSeconds: number;
}

/** A fixed-window limit in this process's memory (rate-limiter-flexible's `RateLimiterMemory`: a `Map` lookup, no I/O). */
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
export function isGuess(err: unknown): boolean {
  const e = err as { status?: unknown; statusCode?: unknown; countsAsGuess?: unknown } | null;
  return e !== null && typeof e === 'object' && (e.status === 401 || e.statusCode === 401) && e.countsAsGuess !== false;
}
