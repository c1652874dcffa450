import { ConfigError, createLogger, loadDotenv } from '@hosting/shared';
import { databases } from './databases.js';
import { MIGRATIONS, migrate } from './migrations.js';

/** `npm run migrate`: applies pending migrations to both databases. */
loadDotenv();
const logger = createLogger({ level: process.env.LOG_LEVEL || 'info', pretty: process.stdout.isTTY, name: 'migrate' });
const dbs = databases(process.env, { logger });
try {
  for (const [name, migrations] of MIGRATIONS) {
    const applied = await migrate(await dbs.url(name), migrations);
    logger.info({ database: name, applied }, applied.length ? `${name}: ${applied.length} migration(s) applied` : `${name}: up to date`);
  }
} catch (err) {
  // A database that does not answer is the user's configuration, said in a line; anything else is a bug.
  if (err instanceof ConfigError) process.stderr.write(`migrate: ${err.message}\n`);
  else logger.error({ err }, 'migration failed');
  process.exitCode = 1;
} finally {
  await dbs.stop();
}
