import { rollbackMigrations, runMigrations } from '@hosting/shared';
import { createTestDatabase } from '@hosting/shared/testing';
import { migrations } from '../migrations/index.js';

/** Every migration has a real `down`: rolling all back leaves no table, and migrating again works. */
it('rolls back to nothing and migrates again', async () => {
  const database = await createTestDatabase('aggregator');
  try {
    await rollbackMigrations(database.db, migrations);
    expect(await database.db.schema.hasTable('events')).toBe(false);
    expect(await runMigrations(database.db, migrations)).toEqual(migrations.map((m) => m.name));
    expect(await database.db.schema.hasTable('events')).toBe(true);
  } finally {
    await database.drop();
  }
});
