import path from 'node:path';
import { parseArgs } from 'node:util';
import { applySeed, defaultSeedFiles, describeSeedReport, migrations, readSeedFiles, SeedError } from '@hosting/project-service';
import type { Knex } from 'knex';
import { ConfigError, createDb, loadDotenv, runMigrations } from '@hosting/shared';
import { databases } from './databases.js';

/**
 * `npm run seed -- --users FILE --projects FILE [--dry-run] [--overwrite]` (defaults:
 * seeds/users.json, seeds/projects.json). Validates every record first; on any problem writes
 * nothing and names file, record and field. Inserts the records that are not in the database and
 * leaves existing rows alone, listing how they differ; `--overwrite` applies those differences
 * (never a project's URL, owner or secret) with their events, `--dry-run` only lists. Running it
 * again changes nothing. Applies pending migrations first.
 */
loadDotenv();
const defaults = defaultSeedFiles();
const { values } = parseArgs({
  options: {
    users: { type: 'string', default: defaults.users },
    projects: { type: 'string', default: defaults.projects },
    'dry-run': { type: 'boolean', default: false },
    overwrite: { type: 'boolean', default: false },
  },
  strict: true,
});
const files = { users: path.resolve(values.users), projects: path.resolve(values.projects) };

let data;
try {
  data = await readSeedFiles(files);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
const dbs = databases(process.env);
let db: Knex | undefined;
try {
  db = createDb({ connectionString: await dbs.url('project'), pool: { max: 2 } });
  await runMigrations(db, migrations);
  const report = await applySeed(db, data, { dryRun: values['dry-run'], overwrite: values.overwrite });
  const lines = [
    `Seed files ${files.users} (${data.users.length} users) and ${files.projects} (${data.projects.length} projects):`,
    ...describeSeedReport(report),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} catch (err) {
  process.stderr.write(
    `${err instanceof SeedError || err instanceof ConfigError ? err.message : `Seeding failed: ${err instanceof Error ? err.message : String(err)}`}\n`,
  );
  process.exitCode = 1;
} finally {
  await db?.destroy();
  await dbs.stop();
}
