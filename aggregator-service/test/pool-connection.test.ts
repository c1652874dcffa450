import pg from 'pg';
import { createDb, type Knex } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { acquireConnection, discard, releaseConnection } from '../src/db/pool-connection.js';

/**
 * The export holds a pool connection through knex internals (src/db/pool-connection.ts): these
 * tests fail the day a knex upgrade renames the pool methods or stops honouring the discard mark.
 */
let database: TestDatabase;
let db: Knex;
beforeAll(async () => {
  database = await createTestDatabase('aggregator');
  // One connection: whatever the pool hands out next is either the one given back or a new one.
  db = createDb({ connectionString: database.url, pool: { max: 1 } });
});
afterAll(async () => {
  await db.destroy();
  await database.drop();
});

const backendPid = async (connection: pg.Client) =>
  (await connection.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

it('hands out a pg.Client of the pool and takes it back for reuse', async () => {
  const first = await acquireConnection(db);
  expect(first).toBeInstanceOf(pg.Client);
  const pid = await backendPid(first);
  await releaseConnection(db, first);
  const again = await acquireConnection(db);
  try {
    expect(await backendPid(again)).toBe(pid);
  } finally {
    await releaseConnection(db, again);
  }
});

it('never hands out a discarded connection again, and the pool keeps working', async () => {
  const doomed = await acquireConnection(db);
  const pid = await backendPid(doomed);
  discard(doomed, 'test');
  await releaseConnection(db, doomed);
  const next = await acquireConnection(db);
  try {
    expect(next).not.toBe(doomed);
    expect(await backendPid(next)).not.toBe(pid);
  } finally {
    await releaseConnection(db, next);
  }
  await expect(db.raw('select 1')).resolves.toBeDefined();
});
