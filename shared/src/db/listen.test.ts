import { createLogger } from '../logger.js';
import { createTestDatabase, withAdmin, type TestDatabase } from '../testing/postgres.js';
import { createWakeLoop, type WakeLoop } from './listen.js';

/**
 * The LISTEN/wake/poll loop of the outbox relay and the stream hub, on a real server. The poll is
 * an hour: every round after the first is a wake-up, so each assertion shows a notification (or
 * the loop's own reaction to a lost connection) at work, never a timer.
 */
const APP = 'wake-loop-test';
const CHANNEL = 'wake_loop_test';

let database: TestDatabase;
let loop: WakeLoop | undefined;
beforeAll(async () => {
  database = await createTestDatabase('project');
});
afterEach(() => loop?.stop());
afterAll(() => database.drop());

async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function listenerPids(): Promise<number[]> {
  const { rows } = await withAdmin((c) =>
    c.query<{ pid: number }>('select pid from pg_stat_activity where application_name = $1 and datname = $2', [APP, database.name]),
  );
  return rows.map((r) => r.pid);
}

const notify = () => database.db.raw(`notify ${CHANNEL}`);

function startLoop(): { rounds: () => number } {
  let rounds = 0;
  loop = createWakeLoop({
    listenUrl: database.url,
    channel: CHANNEL,
    applicationName: APP,
    logger: createLogger({ level: 'silent' }),
    pollMs: 3_600_000,
    failureMessage: 'test round failed',
    work: () => {
      rounds++;
      return Promise.resolve('idle');
    },
  });
  loop.start();
  return { rounds: () => rounds };
}

it('runs a round on each NOTIFY of its channel', async () => {
  const { rounds } = startLoop();
  await until('listening', () => loop!.listening);
  const before = rounds();
  await notify();
  await until('a round after the notification', () => rounds() > before);
  expect(loop!.notifications).toBe(1);
});

it('after its connection is terminated, runs a round at once and listens again on a new session', async () => {
  const { rounds } = startLoop();
  await until('listening', () => loop!.listening);
  const [first] = await listenerPids();
  expect(first).toBeDefined();
  const before = rounds();

  await withAdmin((c) => c.query('select pg_terminate_backend($1)', [first]));
  // What was announced while the connection was down is unknown: a round runs without waiting for the poll.
  await until('a round after the loss', () => rounds() > before);
  await until('listening again', async () => loop!.listening && (await listenerPids()).some((pid) => pid !== first));

  const afterReconnect = rounds();
  await notify();
  await until('a round after a notification on the new session', () => rounds() > afterReconnect);
});

it('stops without leaving its session behind', async () => {
  startLoop();
  await until('listening', () => loop!.listening);
  await loop!.stop();
  expect(loop!.listening).toBe(false);
  await until('the session closed', async () => (await listenerPids()).length === 0);
});
