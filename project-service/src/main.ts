import { createDb, createLifecycle, createLogger, embeddedDbSettings, exitOnSignals, listen, loadDotenv, resolveSecret, runMigrations, startEmbeddedDb, type EmbeddedDb } from '@hosting/shared';
import { migrations } from '../migrations/index.js';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { jwtModeOn } from './http/auth.js';
import { createAggregatorClient } from './events/aggregator-client.js';
import { createOutboxRelay } from './events/outbox-relay.js';
import { createOutboxRepo } from './events/outbox.repo.js';
import { defaultSeedFiles } from './features/seed/default-files.js';
import { createProjectsRepo } from './features/projects/projects.repo.js';
import { createDeploymentStreamHub } from './features/stream/stream-hub.js';
import { applySeed, isEmpty, readSeedFiles } from './features/seed/seed.js';
import { createProjectMetrics } from './metrics.js';

/**
 * The composition root of project-service: the only module that reads the environment, listens
 * and handles signals. Without PROJECT_DATABASE_URL it runs on the embedded PostgreSQL (started
 * here, or the one `npm start` already runs); without a token outside production it generates one.
 */
async function main() {
  loadDotenv();
  // Under npm start: the IPC channel to it closes however it ends (kill -9 included); stop as on SIGTERM then.
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const env = process.env;
  const logger = createLogger({ level: env.LOG_LEVEL || 'info', pretty: env.LOG_PRETTY === '1', name: 'project-service' });
  let embedded: EmbeddedDb | undefined;
  let databaseUrl = env.PROJECT_DATABASE_URL;
  if (!databaseUrl) {
    if (env.NODE_ENV === 'production') throw new Error('PROJECT_DATABASE_URL is required when NODE_ENV=production');
    embedded = await startEmbeddedDb({ ...embeddedDbSettings(env), onLog: (line) => logger.debug({ postgres: line }) });
    await embedded.ensureDatabase('projects');
    databaseUrl = embedded.url('projects');
  }
  const token = resolveSecret('PROJECT_SERVICE_TOKEN', env);
  const aggregatorToken = resolveSecret('AGGREGATOR_SERVICE_TOKEN', env);
  const config = loadConfig({
    ...env,
    PROJECT_DATABASE_URL: databaseUrl,
    PROJECT_SERVICE_TOKEN: token.value,
    AGGREGATOR_SERVICE_TOKEN: aggregatorToken.value,
  });

  const db = createDb({
    connectionString: config.PROJECT_DATABASE_URL,
    pool: { max: config.DB_POOL_MAX },
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: 'project-service',
    logger,
  });
  const applied = await runMigrations(db, migrations);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  if (config.NODE_ENV !== 'production' && (await isEmpty(db))) {
    const seeded = await applySeed(db, await readSeedFiles(defaultSeedFiles()));
    logger.info(seeded, 'empty database seeded with seeds/users.json and seeds/projects.json');
  }

  const outbox = createOutboxRepo(db);
  const metrics = createProjectMetrics({
    db,
    outbox,
    projects: createProjectsRepo(db),
    ongoingThreshold: config.ONGOING_DEPLOYMENTS_THRESHOLD,
  });
  const aggregator = createAggregatorClient({ baseUrl: config.AGGREGATOR_URL, token: config.AGGREGATOR_SERVICE_TOKEN, timeoutMs: config.AGGREGATOR_TIMEOUT_MS });
  const relay = createOutboxRelay({
    outbox,
    client: aggregator,
    logger: logger.child({ component: 'outbox-relay' }),
    listenUrl: config.PROJECT_DATABASE_URL,
    batchSize: config.OUTBOX_BATCH_SIZE,
    pollMs: config.OUTBOX_POLL_MS,
    leaseMs: config.OUTBOX_LEASE_MS,
    backoff: { baseMs: config.OUTBOX_BACKOFF_BASE_MS, capMs: config.OUTBOX_BACKOFF_CAP_MS },
    onAttempt: metrics.relayAttempt,
    target: config.AGGREGATOR_URL,
  });
  if (config.OUTBOX_RELAY_ENABLED) relay.start();
  const streamHub = createDeploymentStreamHub({
    db,
    logger: logger.child({ component: 'deployment-stream' }),
    listenUrl: config.PROJECT_DATABASE_URL,
    heartbeatMs: config.STREAM_HEARTBEAT_MS,
    maxClients: config.STREAM_MAX_CLIENTS,
    replayWindowMs: config.STREAM_REPLAY_WINDOW_MS,
  });
  await streamHub.start();

  const lifecycle = createLifecycle();
  const app = createApp({ db, logger, config, lifecycle, metrics, aggregator, streamHub });
  const running = await listen(app, { port: config.PROJECT_SERVICE_PORT, host: config.PROJECT_SERVICE_HOST, logger, lifecycle });
  logger.info({ port: running.port, ...(env.PROJECT_SERVICE_TOKEN ? {} : { tokenGenerated: token.generated }) }, `project-service listening on http://localhost:${running.port}`);
  if (jwtModeOn(config)) logger.info({ issuer: config.AUTH_JWT_ISSUER, audience: config.AUTH_JWT_AUDIENCE, jwks: config.AUTH_JWT_JWKS_URL }, 'JWT mode on: tokens of this provider are accepted beside the service token');

  // On SIGTERM/SIGINT: readiness fails and the server stops accepting at once; in-flight requests
  // and the relay's batch finish side by side (at most ~8 s); live streams end at once (they never
  // finish by themselves; clients reconnect elsewhere with Last-Event-ID); then the pool and the
  // database close. running.shutdown() closes the listening socket before streamHub.stop() ends
  // the streams (both start in this tick), so a reconnect cannot open a connection here again (one
  // sent over a connection already open gets a 503 from the stopped hub).
  exitOnSignals(async (signal) => {
    await Promise.all([running.shutdown(signal), relay.stop(), streamHub.stop()]);
    await db.destroy();
    await embedded?.stop();
    logger.info('stopped');
  }, logger);
}

main().catch((err: unknown) => {
  process.stderr.write(`project-service failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
