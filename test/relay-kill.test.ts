import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAggregatorService, loadConfig } from '@hosting/aggregator-service';
import { createLogger, freePort, sha256 } from '@hosting/shared';
import { createTestDatabase, startChaosProxy, type ChaosProxy, type TestDatabase } from '@hosting/shared/testing';
import { compareStores } from '../scripts/chaos-check.js';

/**
 * A relay killed with SIGKILL in the middle of a batch, then restarted: nothing is lost and
 * nothing is stored twice. The relay runs in the real, compiled project-service process.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(root, 'project-service', 'dist', 'src', 'main.js');

let project: TestDatabase;
let aggregator: TestDatabase;
let aggregatorServer: http.Server;
let proxy: ChaosProxy;
const aggregatorToken = randomBytes(18).toString('base64url');
const projectToken = randomBytes(18).toString('base64url');

beforeAll(async () => {
  [project, aggregator] = await Promise.all([createTestDatabase('project'), createTestDatabase('aggregator')]);
  const { app } = createAggregatorService(
    loadConfig({ AGGREGATOR_SERVICE_TOKEN: aggregatorToken, AGGREGATOR_DATABASE_URL: aggregator.url }),
    { db: aggregator.db, logger: createLogger({ level: 'silent' }) },
  );
  const serve = app.callback(); // Koa answers its own errors: its promise only says when a request is done
  aggregatorServer = http.createServer((req, res) => void serve(req, res));
  await new Promise<void>((r) => aggregatorServer.listen(0, '127.0.0.1', r));
  // Slow answers, so that a batch is surely in flight when the relay is killed.
  proxy = await startChaosProxy(`http://127.0.0.1:${(aggregatorServer.address() as AddressInfo).port}`, { latencyMs: [300, 400] });
});
afterAll(async () => {
  await proxy.close();
  aggregatorServer.closeAllConnections();
  await new Promise((r) => aggregatorServer.close(r));
  await Promise.all([project.drop(), aggregator.drop()]);
});

async function startProcess(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      PROJECT_DATABASE_URL: project.url,
      PROJECT_SERVICE_PORT: String(port),
      PROJECT_SERVICE_HOST: '127.0.0.1',
      PROJECT_SERVICE_TOKEN: projectToken,
      AGGREGATOR_URL: proxy.url,
      AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
      OUTBOX_BATCH_SIZE: '20',
      OUTBOX_LEASE_MS: '1500',
      OUTBOX_POLL_MS: '100',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`project-service exited with ${child.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/projects`, { headers: { authorization: `Bearer ${projectToken}` } }).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('project-service did not start');
}

it('SIGKILL mid-batch, then a restart: every event stored exactly once', async () => {
  const [user] = await project.db('users').insert({ email: 'kill@example.com', username: 'kill' }).returning('id');
  const [p] = await project
    .db('projects')
    .insert({ name: 'kill', user_id: user!.id, app_secret_sha256: sha256('x'.repeat(32)) })
    .returning('id');
  const port = await freePort();
  const first = await startProcess(port);

  const actions = Array.from({ length: 120 }, () =>
    fetch(`http://127.0.0.1:${port}/projects/${p!.id}/deployment`, {
      method: 'POST',
      headers: { authorization: `Bearer ${projectToken}` },
    }).then((r) => r.status),
  );
  expect((await Promise.all(actions)).every((s) => s === 201)).toBe(true);

  // Kill while a batch is on the wire (claimed, sent, not yet recorded).
  const deadline = Date.now() + 10_000;
  while (proxy.stats.inFlight === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(proxy.stats.inFlight).toBeGreaterThan(0);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const claimedButUnrecorded = await project
    .db('outbox')
    .whereNull('delivered_at')
    .where('attempts', '>', 0)
    .count<{ count: number }[]>('* as count');
  expect(claimedButUnrecorded[0]!.count).toBeGreaterThan(0);

  const second = await startProcess(port);
  try {
    const until = Date.now() + 30_000;
    let undelivered = 1;
    while (undelivered > 0 && Date.now() < until) {
      undelivered = (await project.db('outbox').whereNull('delivered_at').count<{ count: number }[]>('* as count'))[0]!.count;
      await new Promise((r) => setTimeout(r, 100));
    }
    const result = await compareStores(project.db, aggregator.db);
    expect(result).toMatchObject({ expected: 120, stored: 120, lost: 0, extra: 0, duplicated: 0 });
  } finally {
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }
}, 60_000);
