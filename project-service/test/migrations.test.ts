import { rollbackMigrations, runMigrations } from '@hosting/shared';
import { createTestDatabase } from '@hosting/shared/testing';
import { migrations } from '../migrations/index.js';

/**
 * Every migration has a real `down`: rolling all back leaves no table, function or trigger of
 * ours, and migrating again gives back the same trigger functions and triggers.
 */
it('rolls back to nothing and migrates again to the same schema', async () => {
  const database = await createTestDatabase('project');
  const { db } = database;
  const objects = async () => {
    const { rows } = await db.raw<{ rows: Array<{ def: string }> }>(`
      select pg_get_functiondef(p.oid) as def from pg_proc p where p.pronamespace = 'public'::regnamespace
      union all select pg_get_triggerdef(t.oid) from pg_trigger t where not t.tgisinternal
      union all select 'table ' || tablename from pg_tables where schemaname = 'public' and tablename not like 'knex\\_%'
      order by 1`);
    return rows.map((r) => r.def);
  };
  try {
    const migrated = await objects();
    expect(migrated.some((d) => d.startsWith('CREATE TRIGGER'))).toBe(true);
    await rollbackMigrations(db, migrations);
    expect(await objects()).toEqual([]);
    expect(await runMigrations(db, migrations)).toEqual(migrations.map((m) => m.name));
    expect(await objects()).toEqual(migrated);
  } finally {
    await database.drop();
  }
});
