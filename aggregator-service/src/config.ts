import { z } from 'zod';
import { ConfigError, parseEnv, port, secretSetting, serviceEnv, unverifiedCapProblem, type Env, type Explicit } from '@hosting/shared';

/**
 * Every setting of aggregator-service, read from the environment in one place. The token and the
 * database URL are resolved by main.ts (which may start an embedded database or generate a
 * development token) and handed in here already decided.
 */
const schema = z.object({
  AGGREGATOR_SERVICE_PORT: port(3001),
  AGGREGATOR_SERVICE_HOST: z.string().default('0.0.0.0'),
  AGGREGATOR_SERVICE_TOKEN: secretSetting,
  AGGREGATOR_DATABASE_URL: z.string().url(),
  /** NODE_ENV, LOG_LEVEL, CORS_ORIGINS (none by default: the aggregator is private), METRICS_TOKEN, limits, shutdown, pool (shared/src/service.ts). */
  ...serviceEnv,
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
