import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { createOutboxRepo } from '../src/events/outbox.repo.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase('project');
});
afterAll(() => database.drop());

/** The relay's retention: delivered events older than the retention go, at most `limit` at a time; nothing undelivered ever does. */
it('purges delivered events older than the retention, a bounded number at a time, and nothing else', async () => {
  const { db } = database;
  const row = (name: string, deliveredAgo: string | null) => ({
    event_id: randomUUID(),
    name,
    payload: {},
    delivered_at: deliveredAgo === null ? null : db.raw(`now() - interval '${deliveredAgo}'`),
  });
  await db('outbox').insert([row('old-1', '3 hours'), row('old-2', '2 hours'), row('recent', '1 minute'), row('undelivered', null)]);
  const outbox = createOutboxRepo(db);
  const left = async () => (await db('outbox').select('name').orderBy('id')).map((r) => r.name);

  expect(await outbox.purgeDelivered(60 * 60_000, 1)).toBe(1);
  expect(await left()).toHaveLength(3);
  expect(await outbox.purgeDelivered(60 * 60_000)).toBe(1);
  expect(await left()).toEqual(['recent', 'undelivered']);
  expect(await outbox.purgeDelivered(60 * 60_000)).toBe(0);
});
