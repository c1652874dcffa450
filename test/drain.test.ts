import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { freePort, sha256 } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { rawStream } from '../project-service/test/sse-client.js';
import { connectionRefused, root, waitUntilUp } from './processes.js';

/**
 * The drain of a replica behind a balancer (SHUTDOWN_DRAIN_DELAY_MS), on the real process: after
 * SIGTERM, /readyz answers 503 at once while new requests are still served and live streams still
 * get changes; when the delay is over, new connections are refused, the request in flight
 * completes, the streams end, and the process exits 0.
 */
const token = 'drain-test-token-0123456789';
const drainMs = 2_500;

/** One request on a connection of its own (a pooled socket would hide a refused connection). */
function request(port: number, method: string, url: string): Promise<{ status: number; connection: string | undefined; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: url, headers: { authorization: `Bearer ${token}` }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text ? JSON.parse(text) : undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

let database: TestDatabase;
let child: ChildProcess | undefined;
let lock: pg.Client | undefined;
afterAll(async () => {
  await lock?.end().catch(() => undefined);
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await database?.drop();
});

it('project-service: SIGTERM with a drain delay keeps serving while readiness fails, then stops accepting, finishes in-flight work and exits 0', async () => {
  database = await createTestDatabase('project');
  const [user] = await database.db('users').insert({ email: 'd@example.com', username: 'd' }).returning('id');
  const [held, free] = await database
    .db('projects')
    .insert([
      { name: 'held', user_id: user!.id, app_secret_sha256: sha256('h'.repeat(32)) },
      { name: 'free', user_id: user!.id, app_secret_sha256: sha256('f'.repeat(32)) },
    ])
    .returning('id');

  const port = await freePort();
  child = spawn(process.execPath, [path.join(root, 'project-service/dist/src/main.js')], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PUBLIC_BASE_URL: 'http://localhost:3000',
      LOG_LEVEL: 'warn',
      PROJECT_DATABASE_URL: database.url,
      PROJECT_SERVICE_PORT: String(port),
      PROJECT_SERVICE_HOST: '127.0.0.1',
      PROJECT_SERVICE_TOKEN: token,
      AGGREGATOR_SERVICE_TOKEN: token,
      OUTBOX_RELAY_ENABLED: 'false',
      STREAM_HEARTBEAT_MS: '200',
      DB_STATEMENT_TIMEOUT_MS: '20000',
      SHUTDOWN_DRAIN_DELAY_MS: String(drainMs),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child!.once('exit', (code) => resolve({ code, at: Date.now() })),
  );
  await waitUntilUp(port);
  expect((await request(port, 'GET', '/readyz')).status).toBe(200);

  const stream = rawStream(`http://127.0.0.1:${port}/projects/${free!.id}/deployments/stream`, token);
  await stream.waitForText(/: heartbeat/);

  // A request in flight: creating a deployment of `held` waits on that project's row, locked here.
  lock = new pg.Client({ connectionString: database.url });
  lock.on('error', () => undefined);
  await lock.connect();
  await lock.query('begin');
  await lock.query('select id from projects where id = $1 for update', [held!.id]);
  const inFlight = request(port, 'POST', `/projects/${held!.id}/deployments`);
  for (let i = 0; ; i++) {
    const { rows } = await lock.query(
      `select count(*)::int as n from pg_stat_activity where application_name = 'project-service' and wait_event_type = 'Lock'`,
    );
    if (rows[0].n > 0) break;
    if (i > 100) throw new Error('the request never reached the database');
    await new Promise((r) => setTimeout(r, 50));
  }

  const signalledAt = Date.now();
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 200));

  // Draining: readiness fails, a new request on a new connection is still served (and told to
  // close its connection), the open stream still gets the change.
  const ready = await request(port, 'GET', '/readyz');
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ name: 'ServiceUnavailableError' });
  const created = await request(port, 'POST', `/projects/${free!.id}/deployments`);
  expect(created.status).toBe(201);
  expect(created.connection).toBe('close');
  await stream.waitForText(new RegExp(`"id":${created.body.id},`));
  // All of that happened inside the drain, however slow the machine: after it, a new connection is refused.
  expect(child.exitCode).toBeNull();

  // After the drain: new connections are refused, the stream ends, the in-flight request still completes.
  let refused = false;
  while (!refused && Date.now() - signalledAt < drainMs + 20_000) {
    refused = await connectionRefused(port);
    if (!refused) await new Promise((r) => setTimeout(r, 25));
  }
  expect(refused).toBe(true);
  expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(drainMs);
  expect(await stream.end).toBe('ended');
  expect(child.exitCode).toBeNull(); // still finishing the request in flight
  await lock.query('rollback');
  expect((await inFlight).status).toBe(201);

  const { code } = await exited;
  expect(code).toBe(0);
}, 40_000);

it('aggregator-service: SIGTERM with a drain delay answers /readyz 503, still serves, then exits 0', async () => {
  const aggregator = await createTestDatabase('aggregator');
  const port = await freePort();
  const signalledAt = { at: 0 };
  const agg = spawn(process.execPath, [path.join(root, 'aggregator-service/dist/src/main.js')], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      PUBLIC_BASE_URL: 'http://localhost:3000',
      LOG_LEVEL: 'warn',
      AGGREGATOR_DATABASE_URL: aggregator.url,
      AGGREGATOR_SERVICE_PORT: String(port),
      AGGREGATOR_SERVICE_HOST: '127.0.0.1',
      AGGREGATOR_SERVICE_TOKEN: token,
      SHUTDOWN_DRAIN_DELAY_MS: String(drainMs),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      agg.once('exit', (code) => resolve({ code, at: Date.now() })),
    );
    await waitUntilUp(port);
    signalledAt.at = Date.now();
    agg.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect((await request(port, 'GET', '/readyz')).status).toBe(503);
    // Served on a new connection, so inside the drain (after it, a new connection is refused).
    expect((await request(port, 'GET', '/events')).status).toBe(200);
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - signalledAt.at).toBeGreaterThanOrEqual(drainMs);
  } finally {
    if (agg.exitCode === null && agg.signalCode === null) agg.kill('SIGKILL');
    await aggregator.drop();
  }
}, 30_000);
