import { createDb } from '../../db/knex.js';
import { createLogger } from '../../logger.js';
import { logCapture } from '../../testing/logs.js';
import { createTestDatabase, type TestDatabase } from '../../testing/postgres.js';
import { memoryRateLimitStore, type RateLimitStore } from './policy.js';
import { postgresRateLimitStore } from './postgres-store.js';

/**
 * The PostgreSQL store on a real database: two stores on one database stand for two replicas
 * (each has its own memory, as two processes would). The end-to-end proof with real processes
 * behind HAProxy is test/shared-limits.test.ts.
 */
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase('project');
});
afterAll(async () => {
  await database.drop();
});

const silent = createLogger({ level: 'silent' });
const replicas = (points: number, windowSeconds = 60, prefix = `t${Math.random()}`) =>
  [0, 1].map(() => postgresRateLimitStore(database.db, { points, windowSeconds }, prefix, silent));

/** Each outcome of `consume`: true admitted, false refused. */
const admits = (store: RateLimitStore, key: string) =>
  store.consume(key).then(
    () => true,
    () => false,
  );
const totalCounted = async () =>
  Number((await database.db.raw<{ rows: Array<{ n: number }> }>(`select sum(points)::int as n from rate_limits.counts`)).rows[0]!.n ?? 0);

describe('postgresRateLimitStore', () => {
  it('places failures from two replicas in one count: concurrent ones each get their own place, exactly `points` within budget', async () => {
    const [a, b] = replicas(10);
    const places = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a! : b!).penalty('10.0.0.1')));
    expect(places.map((p) => p.consumedPoints).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(places.filter((p) => p.consumedPoints <= 10)).toHaveLength(10);
  });

  it('answers an address over its budget from memory until its window ends (no statement)', async () => {
    const [a] = replicas(2);
    for (let i = 0; i < 3; i++) await a!.penalty('10.0.0.2');
    const before = await totalCounted();
    const res = await a!.penalty('10.0.0.2');
    expect(res.consumedPoints).toBeGreaterThan(2);
    expect(res.msBeforeNext).toBeGreaterThan(0);
    expect(await totalCounted()).toBe(before);
  });

  it('admits exactly `points` requests of one credential across two replicas below 100 points, then refuses on both', async () => {
    const [a, b] = replicas(20);
    const outcomes: boolean[] = [];
    for (let i = 0; i < 40; i++) outcomes.push(await admits(i % 2 ? a! : b!, 'token'));
    expect(outcomes.filter(Boolean)).toHaveLength(20);
    expect(outcomes.slice(0, 20).every(Boolean)).toBe(true);
    // Concurrent requests too.
    const [c, d] = replicas(20);
    const concurrent = await Promise.all(Array.from({ length: 40 }, (_, i) => admits(i % 2 ? c! : d!, 'token')));
    expect(concurrent.filter(Boolean)).toHaveLength(20);
  });

  it('admits a credential well under its budget without a round trip, and charges what it admitted once past 1% of it', async () => {
    const [a, b] = replicas(10_000, 60, 'busy');
    for (let i = 0; i < 100; i++) expect(await admits(a!, 'token')).toBe(true);
    expect(await database.db('rate_limits.counts').where('key', 'busy(10000/60s):token').first()).toBeUndefined();
    expect(await admits(a!, 'token')).toBe(true); // past the allowance: charged with a reservation of 100
    expect((await database.db('rate_limits.counts').where('key', 'busy(10000/60s):token').first<{ points: number }>()).points).toBe(200);
    expect(await admits(b!, 'token')).toBe(true);
  });

  it('never admits more than `points` plus each replica’s uncharged 1% across replicas, and refuses beyond', async () => {
    const [a, b] = replicas(1_000);
    const outcomes = await Promise.all(Array.from({ length: 1_500 }, (_, i) => admits(i % 2 ? a! : b!, 'token')));
    const admitted = outcomes.filter(Boolean).length;
    expect(admitted).toBeGreaterThanOrEqual(1_000 - 2 * 10);
    expect(admitted).toBeLessThanOrEqual(1_000 + 2 * 10);
    expect(await admits(a!, 'token')).toBe(false);
    expect(await admits(b!, 'token')).toBe(false);
  });

  it('counts in memory (and says so once) while PostgreSQL does not answer, instead of failing the request', async () => {
    const unreachable = createDb({
      connectionString: 'postgres://nobody@127.0.0.1:1/none',
      pool: { max: 1 },
      acquireTimeoutMs: 500,
      logger: silent,
    });
    const logs = logCapture();
    try {
      const store = postgresRateLimitStore(unreachable, { points: 2, windowSeconds: 60 }, 'down', logs.logger);
      const places = [];
      for (let i = 0; i < 3; i++) places.push((await store.penalty('10.0.0.3')).consumedPoints);
      expect(places).toEqual([1, 2, 3]); // counted, per process, as memoryRateLimitStore would
      expect([await admits(store, 'k'), await admits(store, 'k'), await admits(store, 'k')]).toEqual([true, true, false]);
      expect(logs.records().filter((l) => String(l.msg).startsWith('rate limit store (PostgreSQL) failed'))).toHaveLength(1);
    } finally {
      await unreachable.destroy();
    }
  });

  it('sends its statements unnamed with DB_PREPARED_STATEMENTS=false, as PgBouncer in transaction mode needs (the library would name them)', async () => {
    const unnamed = createDb({ connectionString: database.url, pool: { max: 1 }, preparedStatements: false, logger: silent });
    try {
      const store = postgresRateLimitStore(unnamed, { points: 5, windowSeconds: 60 }, 'unnamed', silent);
      await store.penalty('10.0.0.4');
      await admits(store, 'token');
      // One pool connection: the statements above ran on the one this reads.
      const { rows } = await unnamed.raw<{ rows: Array<{ n: number }> }>(`select count(*)::int as n from pg_prepared_statements`);
      expect(rows[0]!.n).toBe(0);
      expect(await database.db('rate_limits.counts').where('key', 'like', 'unnamed%').count<Array<{ count: number }>>()).toEqual([
        { count: 2 },
      ]);
    } finally {
      await unnamed.destroy();
    }
  });

  it('counts like the memory store for one process', async () => {
    const [a] = replicas(3);
    const memory = memoryRateLimitStore({ points: 3, windowSeconds: 60 }, 'm');
    const results = async (store: RateLimitStore) => [
      await admits(store, 'x'),
      await admits(store, 'x'),
      await admits(store, 'x'),
      await admits(store, 'x'),
    ];
    expect(await results(a!)).toEqual(await results(memory));
  });
});
