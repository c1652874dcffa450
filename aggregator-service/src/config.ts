import { z } from 'zod';
import {
  ConfigError,
  dbEnv,
  limitsEnv,
  logLevel,
  nodeEnv,
  parseEnv,
  port,
  shutdownEnv,
  unverifiedCapProblem,
  type Env,
  type Explicit,
} from '@hosting/shared';

/**
 * Every setting of aggregator-service, read from the environment in one place. The token and the
 * database URL are resolved by main.ts (which may start an embedded database or generate a
 * development token) and handed in here already decided.
 */
const schema = z.object({
  NODE_ENV: nodeEnv,
  AGGREGATOR_SERVICE_PORT: port(3001),
  AGGREGATOR_SERVICE_HOST: z.string().default('0.0.0.0'),
  AGGREGATOR_SERVICE_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  AGGREGATOR_DATABASE_URL: z.string().url(),
  LOG_LEVEL: logLevel,
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  /** Origins allowed by CORS, comma-separated; none by default (the aggregator is private). */
  CORS_ORIGINS: z.string().default(''),
  /** A second bearer token accepted by GET /metrics only (for Prometheus). */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Rate limits, request timeout, trusted proxies: RATE_LIMIT_*, REQUEST_TIMEOUT_MS, TRUST_PROXY (shared/src/http/limits/). */
  ...limitsEnv,
  /** SHUTDOWN_DRAIN_DELAY_MS: how long SIGTERM keeps serving with readiness failing (shared/src/http/server.ts). */
  ...shutdownEnv,
  /** DB_PREPARED_STATEMENTS: false behind PgBouncer in transaction mode (shared/src/db/knex.ts). */
  ...dbEnv,
});

export type AggregatorServiceConfig = Explicit<z.infer<typeof schema>>;

export function loadConfig(env: Env): AggregatorServiceConfig {
  const config = parseEnv(schema, env);
  const problem = unverifiedCapProblem(config);
  if (problem) throw new ConfigError([problem]);
  return config;
}

/** The schema itself: its defaults are the ones README and .env.example must state (test/docs-defaults.test.ts). */
export { schema as aggregatorConfigSchema };
