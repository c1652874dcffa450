import { z } from 'zod';
import { loadDotenv, embeddedDbSettings, logLevel, nodeEnv, parseEnv, resolveSecret, type Env } from './config.js';
import { createDb, dbEnv, runMigrations, type Knex, type Migration } from './db/knex.js';
import { startEmbeddedDb, type EmbeddedDb } from './db/embedded.js';
import { limitsEnv } from './http/limits/index.js';
import { createLifecycle, type Lifecycle } from './http/ops.js';
import { exitOnSignals, listen, shutdownEnv, stopWhenParentGone, type ListenOptions } from './http/server.js';
import { createLogger, type Logger } from './logger.js';

/** A token or secret a service is given: too short, it could be guessed. */
export const secretSetting = z.string().min(16, 'must be at least 16 characters');

/**
 * The settings every service reads, besides its own (each service's config schema spreads this):
 * what runService, the shared app (service-app.ts) and the shared limits need.
 */
export const serviceEnv = {
  NODE_ENV: nodeEnv,
  LOG_LEVEL: logLevel,
  /** Origins allowed by CORS, comma-separated; none by default. */
  CORS_ORIGINS: z.string().default(''),
  /** A second bearer token accepted by GET /metrics only (for Prometheus). */
  METRICS_TOKEN: secretSetting.optional(),
  /** Rate limits, request timeout, trusted proxies: RATE_LIMIT_*, REQUEST_TIMEOUT_MS, TRUST_PROXY (shared/src/http/limits/). */
  ...limitsEnv,
  /** SHUTDOWN_DRAIN_DELAY_MS: how long SIGTERM keeps serving with readiness failing (shared/src/http/server.ts). */
  ...shutdownEnv,
  /** DB_POOL_MAX, DB_STATEMENT_TIMEOUT_MS, DB_PREPARED_STATEMENTS (shared/src/db/knex.ts). */
  ...dbEnv,
};

/** The part of a service's parsed config that runService reads. */
export type ServiceConfig = z.infer<z.ZodObject<typeof serviceEnv>>;

/** What a service's resources are when it is built: the migrated pool, its logger, its readiness. */
export interface ServiceRuntime {
  db: Knex;
  logger: Logger;
  /** Shared with the server, which sets it on SIGTERM (readiness then answers 503). */
  lifecycle: Lifecycle;
}

/** How one service is run by its main.ts. */
export interface ServiceDefinition<C extends ServiceConfig> {
  /** Names its logger, its pool's application_name and its start-up lines. */
  name: string;
  /** The variable with its database URL; unset (outside production), database `embeddedDatabase` of the embedded server. */
  databaseUrlEnv: string;
  embeddedDatabase: string;
  /** The secrets it is given (resolveSecret: generated outside production); the first is its own token. */
  secrets: readonly [string, ...string[]];
  migrations: readonly Migration[];
  /** The service's config from the environment, with the database URL and secrets already decided. */
  loadConfig(env: Env): C;
  listenOn(config: C): Pick<ListenOptions, 'port' | 'host'>;
  /**
   * Builds the service on its migrated pool and starts its background work. `stop` runs when the
   * server stops accepting, beside the in-flight requests (see ListenOptions.onStopAccepting).
   */
  start(config: C, runtime: ServiceRuntime): Promise<{ app: Parameters<typeof listen>[0]; stop?: () => Promise<unknown> }>;
}

/**
 * Runs a service as its process: reads `.env` and the environment, starts the embedded PostgreSQL
 * when no database URL is given (or uses the one `npm start` already runs), resolves the secrets
 * (generated outside production), migrates, starts the service and listens. On SIGTERM/SIGINT,
 * readiness fails at once and the process keeps serving for SHUTDOWN_DRAIN_DELAY_MS (so its
 * balancer takes it out first), then stops accepting while in-flight requests and `stop` finish
 * side by side, then closes the pool and the embedded database, and exits. Entry points only:
 * this is the one place that reads process.env and exits.
 */
export function runService<C extends ServiceConfig>(service: ServiceDefinition<C>): void {
  run(service).catch((err: unknown) => {
    process.stderr.write(`${service.name} failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}

async function run<C extends ServiceConfig>(service: ServiceDefinition<C>): Promise<void> {
  loadDotenv();
  stopWhenParentGone();
  const env = process.env;
  // Before the rest of the config can be parsed (the database URL may come from the embedded server, which logs).
  const { LOG_LEVEL } = parseEnv(z.object({ LOG_LEVEL: serviceEnv.LOG_LEVEL }), env);
  const logger = createLogger({ level: LOG_LEVEL, pretty: env.LOG_PRETTY === '1', name: service.name });
  let embedded: EmbeddedDb | undefined;
  let databaseUrl = env[service.databaseUrlEnv];
  if (!databaseUrl) {
    if (env.NODE_ENV === 'production') throw new Error(`${service.databaseUrlEnv} is required when NODE_ENV=production`);
    embedded = await startEmbeddedDb({ ...embeddedDbSettings(env), onLog: (line) => logger.debug({ postgres: line }) });
    await embedded.ensureDatabase(service.embeddedDatabase);
    databaseUrl = embedded.url(service.embeddedDatabase);
  }
  const [own, ...others] = service.secrets;
  const token = resolveSecret(own, env);
  const config = service.loadConfig({
    ...env,
    [service.databaseUrlEnv]: databaseUrl,
    [own]: token.value,
    ...Object.fromEntries(others.map((name) => [name, resolveSecret(name, env).value])),
  });

  const db = createDb({
    connectionString: databaseUrl,
    pool: { max: config.DB_POOL_MAX },
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: service.name,
    preparedStatements: config.DB_PREPARED_STATEMENTS,
    logger,
  });
  const applied = await runMigrations(db, service.migrations);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');

  const lifecycle = createLifecycle();
  const started = await service.start(config, { db, logger, lifecycle });
  const running = await listen(started.app, {
    ...service.listenOn(config),
    logger,
    lifecycle,
    drainDelayMs: config.SHUTDOWN_DRAIN_DELAY_MS,
    ...(started.stop ? { onStopAccepting: started.stop } : {}),
    cleanup: async () => {
      await db.destroy();
      await embedded?.stop();
      logger.info('stopped');
    },
  });
  // A token given by npm start may have been generated by it (its banner says so): claim nothing about it here.
  logger.info(
    { port: running.port, ...(env[own] ? {} : { tokenGenerated: token.generated }) },
    `${service.name} listening on http://localhost:${running.port}`,
  );
  exitOnSignals((signal) => running.shutdown(signal), logger);
}
