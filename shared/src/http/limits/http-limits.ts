import type { Middleware } from 'koa';
import type { RequestState } from '../request-context.js';
import type { LimitsConfig } from './config.js';
import { failedAuthLimit } from './failed-auth.js';
import { perCredentialLimit } from './per-credential.js';
import type { Knex } from '../../db/knex.js';
import type { Logger } from '../../logger.js';
import { memoryRateLimitStore, type RateLimitPolicy, type RateLimitStore } from './policy.js';
import { postgresRateLimitStore } from './postgres-store.js';
import { unverifiedWorkLimit } from './unverified-work.js';

/** `first`, then `second`, as one middleware (e.g. authentication, then its rate limit). */
export function chain<S>(first: Middleware<S>, second: Middleware<S>): Middleware<S> {
  return async (ctx, next) => {
    await first(ctx, async () => {
      await second(ctx, next);
    });
  };
}

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

/**
 * The limits of one app, from its config. The failed-authentication
 * and per-credential counts live where RATE_LIMIT_STORE says: in the app's database (`db`, shared by
 * every replica; failures of the store are logged to `logger`) or in this process's memory.
 */
export function createHttpLimits(config: LimitsConfig, deps: { db: Knex; logger: Logger }): HttpLimits {
  const storeFor = (policy: RateLimitPolicy, keyPrefix: string): RateLimitStore =>
    config.RATE_LIMIT_STORE === 'postgres'
      ? postgresRateLimitStore(deps.db, policy, keyPrefix, deps.logger)
      : memoryRateLimitStore(policy, keyPrefix);
  const failedAuthPolicy = {
    points: config.RATE_LIMIT_AUTH_FAILURES,
    windowSeconds: config.RATE_LIMIT_AUTH_WINDOW_S,
  };
  const perCredentialPolicy = {
    points: config.RATE_LIMIT_PER_CREDENTIAL,
    windowSeconds: config.RATE_LIMIT_PER_CREDENTIAL_WINDOW_S,
  };
  const perCredentialStore = storeFor(perCredentialPolicy, 'credential');
  const requestTimeoutMs = config.REQUEST_TIMEOUT_MS;
  return {
    failedAuth: failedAuthLimit({ ...failedAuthPolicy, store: storeFor(failedAuthPolicy, 'auth-failures') }),
    perCredential: perCredentialLimit({ ...perCredentialPolicy, store: perCredentialStore }),
    perCredentialKeyedBy: (keyOf) => perCredentialLimit({ ...perCredentialPolicy, store: perCredentialStore, keyOf }),
    unverifiedWorkKeyedBy: unverifiedWorkLimit({
      perAddress: config.UNVERIFIED_MAX_PER_ADDRESS,
      total: config.UNVERIFIED_MAX_TOTAL,
      // A waiting request must be refused before the request timeout answers it (else its late work would still run).
      maxWaitMs: Math.min(1_000, Math.floor(requestTimeoutMs / 2)),
    }),
    requestTimeoutMs,
  };
}
