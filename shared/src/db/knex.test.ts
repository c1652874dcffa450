import { createTestDatabase, type TestDatabase } from '../testing/postgres.js';
import { createDb } from './knex.js';

/**
 * DB_PREPARED_STATEMENTS: by default a raw statement with bindings becomes a named prepared
 * statement of its connection; with `preparedStatements: false` (behind PgBouncer in transaction
 * mode) none is created. One pooled connection, so pg_prepared_statements shows that session's.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase('project');
});
afterAll(() => database.drop());

async function preparedAfterTwoRuns(preparedStatements: boolean | undefined): Promise<number> {
  const db = createDb({
    connectionString: database.url,
    pool: { max: 1 },
    ...(preparedStatements === undefined ? {} : { preparedStatements }),
  });
  try {
    for (let i = 0; i < 2; i++) await db.raw('select count(*) as n from projects where id > ?', [i]);
    const { rows } = await db.raw<{ rows: Array<{ n: number }> }>('select count(*) as n from pg_prepared_statements');
    return rows[0]!.n;
  } finally {
    await db.destroy();
  }
}

it('prepares named statements by default', async () => {
  expect(await preparedAfterTwoRuns(undefined)).toBe(1);
});

it('sends statements unnamed when preparedStatements is false (PgBouncer in transaction mode)', async () => {
  expect(await preparedAfterTwoRuns(false)).toBe(0);
});
