import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sha256 } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { connectionRefused, holdLock, processTree, survivors, waitUntilUp, type HeldLock } from './processes.js';

/**
 * Graceful shutdown of each service's own process (what a container runs): with a slow request
 * in flight, SIGTERM makes the server refuse new connections at once, lets the request finish,
 * lets the relay finish its batch, closes the pool and exits 0 before the grace period would cut
 * the request.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const token = 'shutdown-test-token-0123456789';

/** A service's process and the JSON log lines it has written so far. */
interface Started {
  child: ChildProcess;
  logs: () => Array<{ level: number; msg: string }>;
}

function start(main: string, env: Record<string, string>): Started {
  const child = spawn(process.execPath, [path.join(root, main)], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      // Neither the statement timeout nor the request timeout may answer the request held by the
      // lock, however long a busy machine takes to release it: only the shutdown decides its end.
      DB_STATEMENT_TIMEOUT_MS: '20000',
      REQUEST_TIMEOUT_MS: '60000',
      PUBLIC_BASE_URL: 'http://127.0.0.1',
      ...env,
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

/** project-service on `port`, on this test's database. */
function startProjectService(port: number, env: Record<string, string> = {}): Started {
  return start('project-service/dist/src/main.js', {
    PROJECT_DATABASE_URL: project.url,
    PROJECT_SERVICE_PORT: String(port),
    PROJECT_SERVICE_HOST: '127.0.0.1',
    PROJECT_SERVICE_TOKEN: token,
    AGGREGATOR_SERVICE_TOKEN: token,
    ...env,
  });
}

/** One request on a connection of its own, so no pooled socket is shared with other calls. */
function request(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * SIGTERM with `slow` held by `lock`: new connections are refused, the request is answered once the
 * lock goes, and the process exits 0 on its own. That it did so in time is proven by what happened
 * rather than by a stopwatch: it logged 'stopped' (the pool closed after the last request), left no
 * process behind, and logged no warning, so the grace period never had to cut a request.
 */
async function proveGracefulStop(service: Started, port: number, slow: () => Promise<{ status: number }>, lock: HeldLock, app: string) {
  const { child, logs } = service;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const inFlight = slow();
  await lock.waitForBlocked(app);

  const processes = processTree(child.pid!);
  child.kill('SIGTERM');
  // New connections are refused at once (the listening socket is closed).
  let refused = false;
  for (let i = 0; i < 400 && !refused; i++) {
    refused = await connectionRefused(port);
    if (!refused) await new Promise((r) => setTimeout(r, 25));
  }
  expect(refused).toBe(true);
  expect(child.exitCode).toBeNull(); // still finishing the request in flight

  await new Promise((r) => setTimeout(r, 500));
  await lock.release();
  const res = await inFlight;
  expect(res.status).toBeLessThan(300);

  expect(await exited).toBe(0);
  expect(await survivors(processes, 0)).toEqual([]);
  expect(logs().map((l) => l.msg)).toContain('stopped');
  expect(logs().filter((l) => l.level >= 40)).toEqual([]); // warnings and errors, the grace period's among them
}

let project: TestDatabase;
let aggregator: TestDatabase;
beforeEach(async () => {
  [project, aggregator] = await Promise.all([createTestDatabase('project'), createTestDatabase('aggregator')]);
});
afterEach(async () => {
  await Promise.all([project.drop(), aggregator.drop()]);
});

it('project-service: SIGTERM with a slow request and a relay batch in flight', async () => {
  // An aggregator that takes 1.5 s to answer, so the relay has a batch on the wire at SIGTERM.
  let received = 0;
  const slowAggregator = http.createServer((req, res) => {
    req.resume();
    req.on('end', () =>
      setTimeout(() => {
        received++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"stored":1,"duplicates":0,"results":[]}');
      }, 1_500),
    );
  });
  await new Promise<void>((r) => slowAggregator.listen(0, '127.0.0.1', r));
  const [user] = await project.db('users').insert({ email: 's@example.com', username: 's' }).returning('id');
  const [p] = await project
    .db('projects')
    .insert({ name: 's', user_id: user!.id, app_secret_sha256: sha256('x'.repeat(32)) })
    .returning('id');

  const port = await freePort();
  const service = startProjectService(port, { AGGREGATOR_URL: `http://127.0.0.1:${(slowAggregator.address() as AddressInfo).port}` });
  try {
    await waitUntilUp(port);
    const created = await fetch(`http://127.0.0.1:${port}/projects/${p!.id}/deployment`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(created.status).toBe(201);
    await new Promise((r) => setTimeout(r, 300)); // the relay has claimed and sent the event
    const lock = await holdLock(project.url, 'projects');
    await proveGracefulStop(
      service,
      port,
      () => request(port, 'GET', '/projects', { authorization: `Bearer ${token}` }),
      lock,
      'project-service',
    );
    // The relay's batch finished rather than being cut: the event is recorded as delivered.
    expect(received).toBe(1);
    const [row] = await project.db('outbox').select('delivered_at');
    expect(row!.delivered_at).not.toBeNull();
  } finally {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
    slowAggregator.closeAllConnections();
    await new Promise((r) => slowAggregator.close(r));
  }
}, 40_000);

it('aggregator-service: SIGTERM with a slow request in flight', async () => {
  const port = await freePort();
  const service = start('aggregator-service/dist/src/main.js', {
    AGGREGATOR_DATABASE_URL: aggregator.url,
    AGGREGATOR_SERVICE_PORT: String(port),
    AGGREGATOR_SERVICE_HOST: '127.0.0.1',
    AGGREGATOR_SERVICE_TOKEN: token,
  });
  try {
    await waitUntilUp(port);
    const lock = await holdLock(aggregator.url, 'events');
    const event = {
      eventId: '5f0c7a3e-8d1b-4c2a-9e7f-1a2b3c4d5e6f',
      name: 'deployment.created',
      occurredAt: new Date().toISOString(),
      payload: { projectId: 1, projectName: 'p', userId: 1, deploymentId: 1, source: 'api', requestId: null, status: 'pending' },
    };
    await proveGracefulStop(
      service,
      port,
      () =>
        request(port, 'POST', '/events', { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, JSON.stringify(event)),
      lock,
      'aggregator-service',
    );
    expect((await aggregator.db('events').count<{ count: number }[]>('* as count'))[0]!.count).toBe(1);
  } finally {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
  }
}, 40_000);

it('project-service: a request still in flight when the grace period ends is cut, and the process exits 0 within 10 s of the drain', async () => {
  const port = await freePort();
  const service = startProjectService(port);
  try {
    await waitUntilUp(port);
    // A body that never arrives: announced 100 bytes, sent 1. Only the grace period can end it
    // (node's own request timeout is 15 s, longer than the grace).
    const stuck = net.connect(port, '127.0.0.1');
    const ended = new Promise<void>((resolve) => stuck.once('close', () => resolve()));
    stuck.on('error', () => undefined);
    let answer = '';
    stuck.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    await new Promise<void>((resolve) => stuck.once('connect', resolve));
    stuck.write(
      `POST /projects/1/deployment HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    await new Promise((r) => setTimeout(r, 300)); // the server has the request and is reading its body

    const exited = new Promise<number | null>((resolve) => service.child.once('exit', (code) => resolve(code)));
    const signalled = Date.now();
    service.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const took = Date.now() - signalled;
    await ended;
    expect(answer).toBe(''); // cut, not answered
    const messages = service.logs().map((l) => l.msg);
    expect(messages).toContain('in-flight requests outlived the grace period; closing their connections');
    expect(messages).toContain('stopped');
    // The 8 s grace (no drain delay here) is a timer; 10 s is README's promise.
    expect(took).toBeLessThan(10_000);
  } finally {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
  }
}, 40_000);
