import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sha256 } from '@hosting/shared';
import { createTestDatabase, loadContract, type TestDatabase } from '@hosting/shared/testing';
import { openapiDocument } from '../project-service/src/openapi/document.js';
import { openStream, rawStream, type StreamClient } from '../project-service/test/sse-client.js';
import { processTree, survivors, waitUntilUp } from './processes.js';

/**
 * The live deployment stream across real processes (what containers run): two project-service
 * processes on one database, a client on A, changes made through B, the events arrive at A (the
 * hubs are fed by LISTEN/NOTIFY, not by the process that made the change); A's Last-Event-ID
 * resumes on B; SIGTERM on a process with open streams ends them and exits 0.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const token = 'stream-e2e-test-token-0123456789';
const secret = 's'.repeat(32);
const contract = loadContract(openapiDocument, { strict: true });

/** A project-service process and the JSON log lines it has written so far. */
function start(port: number, databaseUrl: string): { child: ChildProcess; logs: () => Array<{ level: number; msg: string }> } {
  const child = spawn(process.execPath, [path.join(root, 'project-service/dist/src/main.js')], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      PROJECT_DATABASE_URL: databaseUrl,
      PROJECT_SERVICE_PORT: String(port),
      PROJECT_SERVICE_HOST: '127.0.0.1',
      PROJECT_SERVICE_TOKEN: token,
      AGGREGATOR_SERVICE_TOKEN: token,
      OUTBOX_RELAY_ENABLED: 'false',
      STREAM_HEARTBEAT_MS: '200',
      // No safety-net poll within the test: the first read is at start, so every later delivery
      // is a NOTIFY's doing (a lost LISTEN connection would log a warning, which fails the test).
      STREAM_POLL_MS: '3600000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const logs = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg: string });
  return { child, logs };
}

async function post(port: number, url: string, auth: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const at = performance.now();
  return { status: res.status, body: (await res.json()) as any, at };
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

let database: TestDatabase;
let projectId: number;
const children: ChildProcess[] = [];
const clients: StreamClient[] = [];
beforeAll(async () => {
  database = await createTestDatabase('project');
  const [user] = await database.db('users').insert({ email: 'e2e@example.com', username: 'e2e' }).returning('id');
  const [p] = await database
    .db('projects')
    .insert({ name: 'e2e', user_id: user!.id, app_secret_sha256: sha256(secret) })
    .returning('id');
  projectId = p!.id;
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await database.drop();
});

it('two processes on one database: a change through B reaches a stream on A; resume on B; SIGTERM with open streams exits 0 at once', async () => {
  const [portA, portB] = [await freePort(), await freePort()];
  const { child: a, logs: logsOfA } = start(portA, database.url);
  const { child: b } = start(portB, database.url);
  children.push(a, b);
  await Promise.all([waitUntilUp(portA), waitUntilUp(portB)]);

  const streamPath = `/projects/${projectId}/deployments/stream`;
  const onA = openStream(`http://127.0.0.1:${portA}${streamPath}`, { token, contract });
  const allOnA = openStream(`http://127.0.0.1:${portA}/deployments/stream`, { token, contract });
  clients.push(onA, allOnA);
  await Promise.all([onA.opened, allOnA.opened]);

  // pending → building → done, every change made through B.
  const created = await post(portB, `/projects/${projectId}/deployments`, token);
  expect(created.status).toBe(201);
  const id = created.body.id as number;
  const building = await post(portB, '/deployment/webhook', secret, { id, status: 'building' });
  const done = await post(portB, '/deployment/webhook', secret, { id, status: 'done' });
  expect([building.status, done.status]).toEqual([200, 200]);
  const events = await onA.waitFor(3);
  expect(events.map((e) => e.data.status)).toEqual(['pending', 'building', 'done']);
  expect(events[0]!.data).toEqual(created.body);
  expect(events[2]!.data).toEqual(done.body);
  expect((await allOnA.waitFor(3)).map((e) => e.id)).toEqual(events.map((e) => e.id));

  // Change after change made through B, each arrives at A with its id: with the poll an hour away,
  // only A's NOTIFY can deliver it. (The latency is printed on request; speed belongs in the bench.)
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const before = onA.events.length;
    const res = await post(portB, `/projects/${projectId}/deployments`, token);
    const [event] = (await onA.waitFor(before + 1)).slice(before);
    expect(event!.data.id).toBe(res.body.id);
    latencies.push(event!.at - res.at);
  }
  if (process.env.STREAM_LATENCY_REPORT) {
    const summary = { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), max: Math.max(...latencies) };
    process.stdout.write(`stream latency B→A (ms): ${JSON.stringify(summary)}\n`);
  }
  const lastSeen = onA.events.at(-1)!.id;

  // SIGTERM on A while three streams are open (two EventSources, one raw): the server ends them at
  // once, and A exits 0 without waiting for the 8 s grace of in-flight requests. Proven by what
  // happened rather than by a stopwatch: the raw stream got the end of its response (a stream the
  // grace cut would see its connection reset), A logged that it stopped and exited 0 with no
  // process left behind, and it never warned that requests outlived the grace period.
  const raw = rawStream(`http://127.0.0.1:${portA}/deployments/stream`, token);
  await raw.waitForText(/: heartbeat/);
  const processesOfA = processTree(a.pid!);
  const exited = new Promise<number | null>((resolve) => a.once('exit', (code) => resolve(code)));
  const signalledAt = Date.now();
  a.kill('SIGTERM');
  expect(await raw.end).toBe('ended');
  const endedIn = Date.now() - signalledAt;
  expect(await exited).toBe(0);
  const stoppedIn = Date.now() - signalledAt;
  expect(await survivors(processesOfA, 0)).toEqual([]);
  expect(logsOfA().map((l) => l.msg)).toContain('stopped');
  expect(logsOfA().filter((l) => l.level >= 40)).toEqual([]); // warnings and errors, the grace period's among them
  if (process.env.STREAM_LATENCY_REPORT)
    process.stdout.write(`SIGTERM with open streams: streams ended after ${endedIn} ms, exit 0 after ${stoppedIn} ms\n`);
  onA.close();
  allOnA.close();

  // A change made while the client was away; it resumes on B with the id A gave it.
  const missed = await post(portB, '/deployment/webhook', secret, { id: created.body.id + 1, status: 'failed' });
  expect(missed.status).toBe(200);
  const onB = openStream(`http://127.0.0.1:${portB}${streamPath}`, { token, contract, headers: { 'Last-Event-ID': lastSeen } });
  clients.push(onB);
  const [resumed] = await onB.waitFor(1);
  expect(resumed!.data).toEqual(missed.body);
  expect(Number(resumed!.id)).toBeGreaterThan(Number(lastSeen));

  const exitedB = new Promise<number | null>((resolve) => b.once('exit', (code) => resolve(code)));
  b.kill('SIGTERM');
  expect(await exitedB).toBe(0);
  for (const c of [onA, allOnA, onB]) expect(c.problems).toEqual([]);
}, 60_000);
