import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { createDb, statement, type Knex } from './knex.js';

/**
 * Named prepared statements (DB_PREPARED_STATEMENTS). Each database here has one pooled connection,
 * so pg_prepared_statements, which lists the current session's, shows what our statements left on
 * the connection they ran on.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase('project');
});
afterAll(() => database.drop());

async function withDb<T>(preparedStatements: boolean | undefined, work: (db: Knex) => Promise<T>): Promise<T> {
  const db = createDb({
    connectionString: database.url,
    pool: { max: 1 },
    ...(preparedStatements === undefined ? {} : { preparedStatements }),
  });
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

async function preparedOnTheConnection(db: Knex): Promise<Array<{ name: string; statement: string }>> {
  const { rows } = await db.raw<{ rows: Array<{ name: string; statement: string }> }>(
    'select name, statement from pg_prepared_statements order by name',
  );
  return rows;
}

const projectsAfter = statement<{ after: number; min: number }, { n: number }>(
  'knex_test_projects_after',
  'select count(*) as n from projects where id > :after and id >= :min - 1 and :after >= 0',
);

it('runs a statement as a named prepared statement by default, each name bound to its value wherever it appears', async () => {
  await withDb(undefined, async (db) => {
    const first = await projectsAfter.run(db, { after: 0, min: 1 });
    expect(first.rows).toEqual([{ n: 0 }]);
    await projectsAfter.run(db, { after: 1, min: 1 });
    expect(await preparedOnTheConnection(db)).toEqual([
      { name: 'knex_test_projects_after', statement: 'select count(*) as n from projects where id > $1 and id >= $2 - 1 and $3 >= 0' },
    ]);
  });
});

it('sends statements unnamed when preparedStatements is false (PgBouncer in transaction mode)', async () => {
  await withDb(false, async (db) => {
    await projectsAfter.run(db, { after: 0, min: 1 });
    await projectsAfter.run(db, { after: 1, min: 1 });
    expect(await preparedOnTheConnection(db)).toEqual([]);
  });
});

// The one thing `statement` relies on: knex's pg client hands a query's .options() to pg's
// query config. If a knex upgrade stops doing that, this fails instead of every statement
// silently going unnamed.
it("knex passes a query's .options() through to pg, name included", async () => {
  await withDb(false, async (db) => {
    await db.raw('select ?::int as one', [1]).options({ name: 'knex_test_raw' });
    await db('projects').select('id').where('id', 1).options({ name: 'knex_test_builder' });
    expect((await preparedOnTheConnection(db)).map((r) => r.name)).toEqual(['knex_test_builder', 'knex_test_raw']);
  });
});

it('refuses a second text under a name already defined (pg would refuse it on a connection that prepared the first)', () => {
  expect(() => statement('knex_test_projects_after', 'select 1')).toThrow(/already defined/);
  expect(statement('knex_test_projects_after', projectsAfter.sql).name).toBe('knex_test_projects_after');
});
