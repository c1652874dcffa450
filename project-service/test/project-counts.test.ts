import pg from 'pg';
import { factories, testService, type TestService } from './helpers.js';

/**
 * X-Total-Count of `GET /projects` comes from counters kept by triggers (migration
 * project_counts). It must answer exactly what `count(*)` would after every kind of write, and a
 * transaction holding uncommitted projects must make no other writer wait.
 */
let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

async function expectExact() {
  const { n } = (await svc.db('projects').count({ n: '*' }))[0] as { n: number };
  const res = await svc.call('get', '/projects?page=1');
  expect(res.status).toBe(200);
  expect(res.headers['x-total-count']).toBe(String(n));
}

it('stays exact through inserts, bulk inserts, deletes and a truncate', async () => {
  await expectExact();
  const make = factories(svc.db);
  const a = await make.project();
  await make.project({ userId: a.userId });
  await expectExact();
  const { id: userId } = await make.user();
  await svc.db.raw(
    `insert into projects (name, user_id, app_secret_sha256) select 'bulk-' || g || '-' || ?::text, ?, sha256(g::text::bytea) from generate_series(1, 25) g`,
    [String(Date.now()), userId],
  );
  await expectExact();
  await svc.db('projects').where({ id: a.id }).del();
  await expectExact();
  await svc.db.raw('truncate projects cascade');
  await expectExact();
  await make.project();
  await expectExact();
});

it('a transaction holding new projects makes no other writer wait, and the total counts them once committed', async () => {
  const make = factories(svc.db);
  const owner = await make.user();
  const held = new pg.Client({ connectionString: svc.database.url });
  await held.connect();
  try {
    await held.query('begin');
    await held.query(`insert into projects (name, user_id, app_secret_sha256) values ($1, $2, sha256('held'::bytea))`, [
      `held-${Date.now()}`,
      owner.id,
    ]);
    // Another writer, under a short lock timeout: it fails if it has to wait for the held row.
    await svc.db.transaction(async (trx) => {
      await trx.raw(`set local lock_timeout = '500ms'`);
      await trx('projects').insert({ name: `free-${Date.now()}`, user_id: owner.id, app_secret_sha256: Buffer.alloc(32) });
    });
    await expectExact(); // the held project is invisible to both
    await held.query('commit');
    await expectExact();
  } finally {
    await held.end();
  }
});
