import { z } from 'zod';
import {
  ASYMMETRIC_JWT_ALGORITHMS,
  ConfigError,
  parseEnv,
  port,
  secretSetting,
  serviceEnv,
  unverifiedCapProblem,
  type Env,
  type Explicit,
} from '@hosting/shared';

/**
 * Every setting of project-service, read from the environment in one place. Secrets and the
 * database URL are resolved by main.ts (which may start an embedded database or generate a
 * development token) and handed in here already decided.
 */
const schema = z.object({
  PROJECT_SERVICE_PORT: port(3000),
  PROJECT_SERVICE_HOST: z.string().default('0.0.0.0'),
  PROJECT_SERVICE_TOKEN: secretSetting,
  PROJECT_DATABASE_URL: z.string().url(),
  /**
   * Where the relay's and the stream hub's LISTEN connections go (LISTEN needs a session of its
   * own): the database itself when PROJECT_DATABASE_URL points at PgBouncer in transaction mode.
   * Unset: PROJECT_DATABASE_URL (loadConfig fills it in).
   */
  PROJECT_DATABASE_LISTEN_URL: z.string().url().optional(),
  PUBLIC_DOMAIN: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'must be a domain name like example.app')
    .default('hosting.localhost'),
  /**
   * Public base URL of this service, the base of the absolute URLs in Link headers. Required in
   * production; elsewhere, without it, the request's own host is used (refused unless hostname[:port]).
   */
  PUBLIC_BASE_URL: z
    .string()
    .url()
    .refine((v) => {
      if (!URL.canParse(v)) return false;
      const url = new URL(v);
      return ['http:', 'https:'].includes(url.protocol) && !url.search && !url.hash && !url.username && !url.password && !/[\s<>"]/.test(v);
    }, 'must be an http(s) URL without query, fragment or credentials, like https://api.example.com')
    .optional(),
  AGGREGATOR_URL: z.string().url().default('http://localhost:3001'),
  AGGREGATOR_SERVICE_TOKEN: secretSetting,
  AGGREGATOR_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  OUTBOX_RELAY_ENABLED: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(500),
  OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  /** How long a claimed batch is reserved for its relay; a relay that dies delays its rows this long. */
  OUTBOX_LEASE_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  OUTBOX_BACKOFF_BASE_MS: z.coerce.number().int().min(1).max(60_000).default(500),
  /** A project with more deployments in progress than this shows in GET /ops/busy-projects and the alert gauge. */
  ONGOING_DEPLOYMENTS_THRESHOLD: z.coerce.number().int().min(1).max(1_000).default(3),
  OUTBOX_BACKOFF_CAP_MS: z.coerce.number().int().min(1).max(3_600_000).default(60_000),
  /** Live deployment stream: a `: heartbeat` comment this often on every open stream (keeps proxies from timing it out). */
  STREAM_HEARTBEAT_MS: z.coerce.number().int().min(10).max(300_000).default(15_000),
  /** Live deployment stream: open streams one process serves at most; beyond, 503 with Retry-After. Users' tokens get nine tenths of them. */
  STREAM_MAX_CLIENTS: z.coerce.number().int().min(1).max(100_000).default(1_000),
  /** Live deployment stream (JWT mode): open streams one user's token may hold in one process; beyond, 429 with Retry-After. */
  STREAM_MAX_PER_USER: z.coerce.number().int().min(1).max(100_000).default(10),
  /** Live deployment stream: the hub reads new changes this often even without a NOTIFY (the safety net for a lost one). */
  STREAM_POLL_MS: z.coerce.number().int().min(10).max(3_600_000).default(1_000),
  /** Live deployment stream: how far back a reconnecting client (Last-Event-ID) is replayed; older changes are purged. */
  STREAM_REPLAY_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(7 * 24 * 3_600_000)
    .default(600_000),
  /** NODE_ENV, LOG_LEVEL, CORS_ORIGINS (the admin panel's origins), METRICS_TOKEN, limits, shutdown, pool (shared/src/service.ts). */
  ...serviceEnv,
  /** JWT mode (off unless all three are set): the OpenID Connect provider's key set, exact `iss`, and this API's `aud`. */
  AUTH_JWT_JWKS_URL: z.string().url().optional(),
  AUTH_JWT_ISSUER: z.string().optional(),
  AUTH_JWT_AUDIENCE: z.string().optional(),
  /** JWT mode: the signature algorithms accepted, comma-separated; asymmetric ones only. */
  AUTH_JWT_ALGORITHMS: z
    .string()
    .default('RS256,ES256')
    .transform((v) =>
      v
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(ASYMMETRIC_JWT_ALGORITHMS, { message: `must be among ${ASYMMETRIC_JWT_ALGORITHMS.join(', ')}` })).min(1)),
  /** JWT mode: a token whose claim AUTH_JWT_ADMIN_CLAIM holds AUTH_JWT_ADMIN_VALUE (equal, in an array, or in a space-separated list) is an admin. */
  AUTH_JWT_ADMIN_CLAIM: z.string().default('permissions'),
  AUTH_JWT_ADMIN_VALUE: z.string().default('admin'),
  /** JWT mode: the claims with a user's address and whether the provider verified it (only a verified one maps to a user). */
  AUTH_JWT_EMAIL_CLAIM: z.string().default('email'),
  AUTH_JWT_EMAIL_VERIFIED_CLAIM: z.string().default('email_verified'),
});

/** Every setting, an unset optional one as `undefined`; the LISTEN URL always decided (loadConfig). */
export type ProjectServiceConfig = Omit<Explicit<z.infer<typeof schema>>, 'PROJECT_DATABASE_LISTEN_URL'> & {
  readonly PROJECT_DATABASE_LISTEN_URL: string;
};

/**
 * The settings as the schema reads them, with the LISTEN URL decided (the database's own unless one
 * is given), before loadConfig's checks across settings (tests build a config here when they give a
 * combination loadConfig refuses on purpose).
 */
export function parseConfig(env: Env): ProjectServiceConfig {
  const config = parseEnv(schema, env);
  return { ...config, PROJECT_DATABASE_LISTEN_URL: config.PROJECT_DATABASE_LISTEN_URL ?? config.PROJECT_DATABASE_URL };
}

export function loadConfig(env: Env): ProjectServiceConfig {
  const config = parseConfig(env);
  // JWT mode is all three settings or none: one or two set is a half-configured mode, refused.
  const jwt = {
    AUTH_JWT_JWKS_URL: config.AUTH_JWT_JWKS_URL,
    AUTH_JWT_ISSUER: config.AUTH_JWT_ISSUER,
    AUTH_JWT_AUDIENCE: config.AUTH_JWT_AUDIENCE,
  };
  const missing = Object.entries(jwt)
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  const problems: string[] = [];
  if (missing.length > 0 && missing.length < 3)
    problems.push(
      `${missing.join(', ')}: required when any of AUTH_JWT_JWKS_URL, AUTH_JWT_ISSUER, AUTH_JWT_AUDIENCE is set (JWT mode needs all three)`,
    );
  if (config.NODE_ENV === 'production' && config.AUTH_JWT_JWKS_URL?.startsWith('http:'))
    problems.push('AUTH_JWT_JWKS_URL: must be https when NODE_ENV=production');
  const cap = unverifiedCapProblem(config);
  if (cap) problems.push(cap);
  // Links are absolute: in production their base is configured, never taken from a client's Host.
  if (config.NODE_ENV === 'production' && config.PUBLIC_BASE_URL === undefined)
    problems.push(
      'PUBLIC_BASE_URL: required when NODE_ENV=production (the base of the absolute URLs in Link headers), e.g. https://api.example.com',
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** The schema itself: its defaults are the ones README and .env.example must state (test/docs-defaults.test.ts). */
export { schema as projectConfigSchema };
