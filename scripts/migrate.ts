import { migrations as aggregatorMigrations } from '@hosting/aggregator-service';
import { migrations as projectMigrations } from '@hosting/project-service';
import { createDb, createLogger, loadDotenv, runMigrations, type Migration } from '@hosting/shared';
import { databases, type Service } from './databases.js';

/** `npm run migrate`: applies pending migrations to both databases. */
loadDotenv();
const logger = createLogger({ level: process.env.LOG_LEVEL || 'info', pretty: process.stdout.isTTY, name: 'migrate' });
const dbs = databases(process.env, logger);
try {
  const targets: Array<[Service, readonly Migration[]]> = [
    ['project', projectMigrations],
    ['aggregator', aggregatorMigrations],
  ];
  for (const [name, migrations] of targets) {
    const db = createDb({ connectionString: await dbs.url(name), pool: { max: 1 } });
    try {
      const applied = await runMigrations(db, migrations);
      logger.info({ database: name, applied }, applied.length ? `${name}: ${applied.length} migration(s) applied` : `${name}: up to date`);
    } finally {
      await db.destroy();
    }
  }
} catch (err) {
  logger.error({ err }, 'migration failed');
  process.exitCode = 1;
} finally {
  await dbs.stop();
}
