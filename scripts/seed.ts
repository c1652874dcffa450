import path from 'node:path';
import { parseArgs } from 'node:util';
import { applySeed, defaultSeedFiles, migrations, readSeedFiles, SeedError } from '@hosting/project-service';
import { createDb, loadDotenv, runMigrations } from '@hosting/shared';
import { databases } from './databases.js';

/**
 * `npm run seed -- --users FILE --projects FILE` (defaults: seeds/users.json, seeds/projects.json).
 * Validates every record first; on any problem writes nothing and names file, record and field.
 * Upserts by id, so running it again is harmless. Applies pending migrations first.
 */
loadDotenv();
const defaults = defaultSeedFiles();
const { values } = parseArgs({
  options: { users: { type: 'string', default: defaults.users }, projects: { type: 'string', default: defaults.projects } },
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
const db = createDb({ connectionString: await dbs.url('project'), pool: { max: 2 } });
try {
  await runMigrations(db, migrations);
  const counts = await applySeed(db, data);
  process.stdout.write(`Seeded ${counts.users} users from ${files.users} and ${counts.projects} projects from ${files.projects}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof SeedError ? err.message : `Seeding failed: ${err instanceof Error ? err.message : String(err)}`}\n`);
  process.exitCode = 1;
} finally {
  await db.destroy();
  await dbs.stop();
}
