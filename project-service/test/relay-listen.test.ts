import { createLogger } from '@hosting/shared';
import { withAdmin } from '@hosting/shared/testing';
import { createAggregatorClient } from '../src/events/aggregator-client.js';
import { createOutboxRelay, type OutboxRelay } from '../src/events/outbox-relay.js';
import { createOutboxRepo } from '../src/events/outbox.repo.js';
import { startAggregator, testConfig, testService, type TestAggregator, type TestService } from './helpers.js';

/**
 * The relay wakes on NOTIFY, also after its LISTEN session was killed: its poll is a minute here,
 * so every delivery below comes from a notification. Before the relay shared the stream hub's
 * LISTEN loop (shared/src/db/listen.ts) it noticed the loss but connected again only at its next
 * poll: the second delivery waited a minute.
 */
let svc: TestService;
let aggregator: TestAggregator;
let relay: OutboxRelay;

beforeAll(async () => {
  [svc, aggregator] = await Promise.all([testService(), startAggregator()]);
  const config = testConfig({
    PROJECT_DATABASE_URL: svc.database.url,
    AGGREGATOR_URL: aggregator.url,
    AGGREGATOR_SERVICE_TOKEN: aggregator.token,
    OUTBOX_POLL_MS: 60_000,
  });
  relay = createOutboxRelay({
    outbox: createOutboxRepo(svc.db),
    client: createAggregatorClient({
      baseUrl: config.AGGREGATOR_URL,
      token: config.AGGREGATOR_SERVICE_TOKEN,
      timeoutMs: config.AGGREGATOR_TIMEOUT_MS,
    }),
    logger: createLogger({ level: 'silent' }),
    config,
  });
  relay.start();
});

afterAll(async () => {
  await relay.stop();
  await Promise.all([svc.close(), aggregator.close()]);
});

async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting until ${what}`);
}

async function listenerPids(): Promise<number[]> {
  const { rows } = await withAdmin((c) =>
    c.query<{ pid: number }>(
      `select pid from pg_stat_activity where application_name = 'outbox-relay-listen' and datname = $1 and query ilike 'listen%'`,
      [svc.database.name],
    ),
  );
  return rows.map((r) => r.pid);
}

/** Creates a deployment through the API and waits until its event is delivered. */
async function deliveredAfterCreation(): Promise<void> {
  const project = await svc.make.project();
  expect((await svc.call('post', `/projects/${project.id}/deployments`)).status).toBe(201);
  await until('the event is delivered', async () => {
    const row = await svc
      .db('outbox')
      .whereRaw(`payload->>'projectId' = ?`, [String(project.id)])
      .first('delivered_at');
    return Boolean(row?.delivered_at);
  });
}

it('delivers on NOTIFY, and again after its LISTEN session is terminated', async () => {
  await until('the relay listens', async () => (await listenerPids()).length === 1);
  await deliveredAfterCreation();

  const [first] = await listenerPids();
  await withAdmin((c) => c.query('select pg_terminate_backend($1)', [first]));
  await until('the relay listens on a new session', async () => {
    const pids = await listenerPids();
    return pids.length === 1 && pids[0] !== first;
  });
  await deliveredAfterCreation();
});
