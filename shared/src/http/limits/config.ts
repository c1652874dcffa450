import { z } from 'zod';

/** The limits' defaults, which the schema below applies and the OpenAPI documents state. */
export const LIMIT_DEFAULTS = {
  RATE_LIMIT_STORE: 'postgres',
  RATE_LIMIT_AUTH_FAILURES: 20,
  RATE_LIMIT_AUTH_WINDOW_S: 60,
  RATE_LIMIT_PER_CREDENTIAL: 300_000,
  RATE_LIMIT_PER_CREDENTIAL_WINDOW_S: 10,
  REQUEST_TIMEOUT_MS: 4_000,
  TRUST_PROXY: 0,
  UNVERIFIED_MAX_PER_ADDRESS: 2,
  UNVERIFIED_MAX_TOTAL: 4,
} as const;

/** The environment variables of the limits, for both services' config schemas (spread into them). */
export const limitsEnv = {
  /**
   * Where the failed-authentication and per-credential counts live: `postgres` (the default: one
   * count for every replica of the service, in its database's `rate_limits.counts` table, so the limits mean
   * what they say however many replicas run) or `memory` (each process counts on its own: N
   * replicas admit N times the budget; for one process that wants no database write per 401).
   */
  RATE_LIMIT_STORE: z.enum(['postgres', 'memory']).default(LIMIT_DEFAULTS.RATE_LIMIT_STORE),
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

/** The limits' settings as a service's parsed config holds them (limitsEnv documents each one). */
export type LimitsConfig = z.infer<z.ZodObject<typeof limitsEnv>>;

/** The problem with a config whose cap on unverified work does not leave the pool room for verified work, if any. */
export function unverifiedCapProblem(config: { UNVERIFIED_MAX_TOTAL: number; DB_POOL_MAX: number }): string | undefined {
  return config.UNVERIFIED_MAX_TOTAL < config.DB_POOL_MAX
    ? undefined
    : `UNVERIFIED_MAX_TOTAL: must be below DB_POOL_MAX (${config.DB_POOL_MAX}), or unverified requests could take the whole database pool (it is ${config.UNVERIFIED_MAX_TOTAL})`;
}
