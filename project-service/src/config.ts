import { z } from 'zod';
import { logLevel, nodeEnv, parseEnv, port, type Env } from '@hosting/shared';

/**
 * Every setting of project-service, read from the environment in one place. Secrets and the
 * database URL are resolved by main.ts (which may start an embedded database or generate a
 * development token) and handed in here already decided.
 */
const schema = z.object({
  NODE_ENV: nodeEnv,
  PROJECT_SERVICE_PORT: port(3000),
  PROJECT_SERVICE_HOST: z.string().default('0.0.0.0'),
  PROJECT_SERVICE_TOKEN: z.string().min(16, 'must be at least 16 characters'),
  PROJECT_DATABASE_URL: z.string().url(),
  PUBLIC_DOMAIN: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, 'must be a domain name like example.app')
    .default('hosting.localhost'),
  /** Public base URL of this service, for absolute Link headers behind a proxy; else taken from the request. */
  PUBLIC_BASE_URL: z.string().url().optional(),
  LOG_LEVEL: logLevel,
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  AGGREGATOR_URL: z.string().url().default('http://localhost:3001'),
  AGGREGATOR_SERVICE_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});

export type ProjectServiceConfig = z.infer<typeof schema>;

export function loadConfig(env: Env): ProjectServiceConfig {
  return parseEnv(schema, env);
}
