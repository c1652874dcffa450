import { createDb, createLifecycle, createLogger, embeddedDbSettings, exitOnSignals, listen, loadDotenv, resolveSecret, runMigrations, startEmbeddedDb, type EmbeddedDb } from '@hosting/shared';
import { migrations } from '../migrations/index.js';
import { createApp } from './app.js';
import { loadConfig } from './config.js';

/**
 * The composition root of aggregator-service: the only module that reads the environment, listens
 * and handles signals. Without AGGREGATOR_DATABASE_URL it runs on the embedded PostgreSQL (started
 * here, or the one `npm start` already runs); without a token outside production it generates one.
 */
async function main() {
  loadDotenv();
  // Under npm start: the IPC channel to it closes however it ends (kill -9 included); stop as on SIGTERM then.
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  const env = process.env;
  const logger = createLogger({ level: env.LOG_LEVEL || 'info', pretty: env.LOG_PRETTY === '1', name: 'aggregator-service' });
  let embedded: EmbeddedDb | undefined;
  let databaseUrl = env.AGGREGATOR_DATABASE_URL;
  if (!databaseUrl) {
    if (env.NODE_ENV === 'production') throw new Error('AGGREGATOR_DATABASE_URL is required when NODE_ENV=production');
    embedded = await startEmbeddedDb({ ...embeddedDbSettings(env), onLog: (line) => logger.debug({ postgres: line }) });
    await embedded.ensureDatabase('aggregator');
    databaseUrl = embedded.url('aggregator');
  }
  const token = resolveSecret('AGGREGATOR_SERVICE_TOKEN', env);
  const config = loadConfig({ ...env, AGGREGATOR_DATABASE_URL: databaseUrl, AGGREGATOR_SERVICE_TOKEN: token.value });

  const db = createDb({
    connectionString: config.AGGREGATOR_DATABASE_URL,
    pool: { max: config.DB_POOL_MAX },
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    applicationName: 'aggregator-service',
    logger,
  });
  const applied = await runMigrations(db, migrations);
  if (applied.length > 0) logger.info({ applied }, 'migrations applied');

  const lifecycle = createLifecycle();
  const app = createApp({ db, logger, config, lifecycle });
  const running = await listen(app, {
    port: config.AGGREGATOR_SERVICE_PORT,
    host: config.AGGREGATOR_SERVICE_HOST,
    logger,
    lifecycle,
    cleanup: async () => {
      await db.destroy();
      await embedded?.stop();
      logger.info('stopped');
    },
  });
  logger.info({ port: running.port, ...(env.AGGREGATOR_SERVICE_TOKEN ? {} : { tokenGenerated: token.generated }) }, `aggregator-service listening on http://localhost:${running.port}`);
  exitOnSignals((signal) => running.shutdown(signal), logger);
}

main().catch((err: unknown) => {
  process.stderr.write(`aggregator-service failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
