import { migrations as aggregatorMigrations } from '@hosting/aggregator-service';
import { migrations as projectMigrations } from '@hosting/project-service';
import { createDb, runMigrations, type Migration } from '@hosting/shared';
import type { Service } from './databases.js';

/** Each service's migrations, in the order `npm run migrate` and `npm start` apply them. */
export const MIGRATIONS: ReadonlyArray<[Service, readonly Migration[]]> = [
  ['project', projectMigrations],
  ['aggregator', aggregatorMigrations],
];

/** Applies pending migrations to the database at `url` on a connection of its own; returns the names applied. */
export async function migrate(url: string, migrations: readonly Migration[]): Promise<string[]> {
  const db = createDb({ connectionString: url, pool: { max: 1 } });
  try {
    return await runMigrations(db, migrations);
  } finally {
    await db.destroy();
  }
}
