import http from 'node:http';
import { jest } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { listen, type RunningServer } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import * as notifyMigration from '../migrations/20261121000200_deployment_notify.js';
import type { DeploymentStreamHub } from '../src/features/stream/stream-hub.js';
import { createApp, factories, fetchChecked, logCapture, ownContract, projectContract, streamClients, testStreamHub } from './helpers.js';
import { rawStream, type StreamClient } from './sse-client.js';

/**
 * The live deployment stream over real HTTP, with a real EventSource client, on a listening app
 * whose hub LISTENs on its own cloned database: what arrives, in which order, for whom; heartbeats;
 * resuming with Last-Event-ID; gaps when transactions commit out of id order; limits and errors.
 * (Two processes on one database and SIGTERM with open streams: test/stream.e2e.test.ts.)
 */
const HEARTBEAT_MS = 150;

// These tests time real streams on a shared 2-core machine; a failure is retried twice, with its
// error printed, so that one slow moment cannot fail the run while a real fault still does.
jest.retryTimes(2, { logErrorsBeforeRetry: true });

let database: TestDatabase;
let hub: DeploymentStreamHub;
let running: RunningServer;
let base: string;
const token = randomBytes(24).toString('base64url');
const contract = projectContract();
const own = ownContract();
let make: ReturnType<typeof factories>;
const clients = streamClients();

function stream(path: string, headers?: Record<string, string>): StreamClient {
  return clients.open(`${base}${path}`, { token, headers, contract: own });
}

/** A request over HTTP whose answer is checked against both documents (platform and ours, strictly). */
function api(
  method: 'get' | 'post',
  path: string,
  options: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
) {
  const auth = options.token === undefined ? token : options.token;
  return fetchChecked(base, contract, method, path, { token: auth || null, body: options.body, headers: options.headers });
}

async function project() {
  return make.project();
}

async function deploy(projectId: number): Promise<{ id: number }> {
  const res = await api('post', `/projects/${projectId}/deployments`);
  expect(res.status).toBe(201);
  return res.body;
}

async function report(secret: string, id: number, status: string) {
  const res = await api('post', '/deployment/webhook', { token: secret, body: { id, status } });
  expect(res.status).toBe(200);
  return res.body;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the hub has read every change committed so far. A stream opened without
 * Last-Event-ID starts at the hub's cursor, so a change committed a moment before the stream
 * opened, but not yet read by the hub, is still sent; tests that assert "nothing yet" wait here.
 */
async function hubCaughtUp(): Promise<void> {
  const { max } = (await database.db('deployment_changes').max('id as max').first()) as { max: number | null };
  for (let i = 0; i < 1_000 && (hub.status().cursor ?? 0) < (max ?? 0); i++) await sleep(10);
  expect(hub.status().cursor ?? 0).toBeGreaterThanOrEqual(max ?? 0);
}

beforeAll(async () => {
  database = await createTestDatabase('project');
  make = factories(database.db);
  const { logger } = logCapture();
  hub = testStreamHub(database, logger, { STREAM_HEARTBEAT_MS: HEARTBEAT_MS, STREAM_MAX_CLIENTS: 50 });
  await hub.start();
  const app = createApp({
    db: database.db,
    logger,
    config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app' },
    streamHub: hub,
  });
  running = await listen(app, { port: 0, host: '127.0.0.1', logger, drainDelayMs: 0 });
  base = `http://127.0.0.1:${running.port}`;
});

afterEach(() => clients.closeAll());

afterAll(async () => {
  await Promise.all([running.shutdown('test over'), hub.stop()]);
  await database.drop();
});

describe('GET /deployments/stream', () => {
  it('sends a created deployment and each status change from the webhook, in order, as the API shows the deployment', async () => {
    const p = await project();
    const all = stream('/deployments/stream');
    await all.opened;
    const one = stream(`/projects/${p.id}/deployments/stream`);
    await one.opened;

    const created = await deploy(p.id);
    await report(p.secret, created.id, 'building');
    await report(p.secret, created.id, 'building'); // a repeated delivery changes nothing: no event
    await report(p.secret, created.id, 'pending'); // stale: no event
    await report(p.secret, created.id, 'done');
    const shown = (await api('get', `/deployments/${created.id}`)).body;

    for (const client of [all, one]) {
      const events = await client.waitFor(3);
      expect(events.map((e) => [e.type, e.data.status])).toEqual([
        ['deployment', 'pending'],
        ['deployment', 'building'],
        ['deployment', 'done'],
      ]);
      expect(events[2]!.data).toEqual(shown); // exactly the API's JSON: { id, projectId, status, deployedIn, createdAt, updatedAt }
      expect(events[0]!.data).toEqual({ ...shown, status: 'pending', deployedIn: null, updatedAt: shown.createdAt });
      const ids = events.map((e) => Number(e.id));
      expect(ids.every((id, i) => Number.isInteger(id) && (i === 0 || id > ids[i - 1]!))).toBe(true);
      await sleep(100);
      expect(client.events).toHaveLength(3);
      const res = client.responses[0]!;
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(res.headers['cache-control']).toBe('private, no-store, no-transform');
      expect(res.headers['x-accel-buffering']).toBe('no');
      expect(res.headers['x-request-id']).toBeTruthy();
    }
    // Both routes give an event the same id.
    expect(one.events.map((e) => e.id)).toEqual(all.events.map((e) => e.id));
  });

  it('sends cancellations, and changes made by any write path (here: SQL of its own)', async () => {
    const p = await project();
    const client = stream(`/projects/${p.id}/deployments/stream`);
    await client.opened;
    const d = await deploy(p.id);
    expect((await api('post', `/deployments/${d.id}/cancel`)).status).toBe(200);
    const [row] = await database.db('deployments').insert({ project_id: p.id }).returning('id');
    await database.db('deployments').where({ id: row!.id }).update({ status: 'failed', updated_at: database.db.fn.now() });
    const events = await client.waitFor(4);
    expect(events.map((e) => [e.data.id, e.data.status])).toEqual([
      [d.id, 'pending'],
      [d.id, 'cancelled'],
      [row!.id, 'pending'],
      [row!.id, 'failed'],
    ]);
  });

  it("a project stream gets that project's changes only; the all-projects stream gets every one", async () => {
    const [a, b] = [await project(), await project()];
    const ofA = stream(`/projects/${a.id}/deployments/stream`);
    const all = stream('/deployments/stream');
    await Promise.all([ofA.opened, all.opened]);
    const db = await deploy(b.id);
    const da = await deploy(a.id);
    await report(b.secret, db.id, 'building');
    await report(a.secret, da.id, 'failed');
    await all.waitFor(4);
    await sleep(150);
    expect(ofA.events.map((e) => [e.data.projectId, e.data.id, e.data.status])).toEqual([
      [a.id, da.id, 'pending'],
      [a.id, da.id, 'failed'],
    ]);
    expect(all.events.map((e) => e.data.id)).toEqual([db.id, da.id, db.id, da.id]);
  });

  it('sends retry first, then a heartbeat comment every STREAM_HEARTBEAT_MS', async () => {
    const raw = rawStream(`${base}/deployments/stream`, token);
    try {
      await raw.waitForText(/^retry: \d+\n\n/);
      const started = Date.now();
      // Three heartbeats of 150 ms in 10 s at most (the default 15 s interval would take 45 s); not
      // sooner than the interval allows (a busy machine can only make them later).
      await raw.waitForText(/(: heartbeat\n\n[^]*){3}/, 10_000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(HEARTBEAT_MS * 2 - 50);
    } finally {
      raw.close();
    }
  });

  it('a client that goes away is forgotten at once', async () => {
    await sleep(50);
    const before = hub.streams;
    const raw = rawStream(`${base}/deployments/stream`, token);
    await raw.waitForText(/retry/);
    expect(hub.streams).toBe(before + 1);
    raw.close();
    for (let i = 0; i < 1_000 && hub.streams !== before; i++) await sleep(10);
    expect(hub.streams).toBe(before);
  });
});

describe('resuming with Last-Event-ID', () => {
  it('replays exactly the events missed while disconnected, then goes on live: no gap, no duplicate', async () => {
    const p = await project();
    const first = stream(`/projects/${p.id}/deployments/stream`);
    await first.opened;
    const d1 = await deploy(p.id);
    await report(p.secret, d1.id, 'building');
    const seen = await first.waitFor(2);
    first.close();

    // Missed while away: a change of this project, one of another project (not for this stream), three more.
    const other = await project();
    await report(p.secret, d1.id, 'deploying');
    await deploy(other.id);
    const d2 = await deploy(p.id);
    await report(p.secret, d1.id, 'done');
    await report(p.secret, d2.id, 'failed');

    const again = stream(`/projects/${p.id}/deployments/stream`, { 'Last-Event-ID': seen[1]!.id });
    const replayed = await again.waitFor(4);
    expect(replayed.map((e) => [e.data.id, e.data.status])).toEqual([
      [d1.id, 'deploying'],
      [d2.id, 'pending'],
      [d1.id, 'done'],
      [d2.id, 'failed'],
    ]);
    const d3 = await deploy(p.id); // live after the replay
    const all = await again.waitFor(5);
    expect(all[4]!.data).toMatchObject({ id: d3.id, status: 'pending' });
    await sleep(150);
    expect(again.events).toHaveLength(5);
    const ids = [...seen, ...again.events].map((e) => Number(e.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    // The same, from the database's point of view: every change of the project after the first two.
    const rows = await database.db('deployment_changes').where({ project_id: p.id }).orderBy('id').select('id');
    expect(ids).toEqual(rows.map((r: { id: number }) => r.id));
  });

  it('takes lastEventId in the query for clients that cannot set headers; the header wins over it', async () => {
    const p = await project();
    const d = await deploy(p.id);
    await report(p.secret, d.id, 'building');
    await report(p.secret, d.id, 'done');
    const rows = await database.db('deployment_changes').where({ deployment_id: d.id }).orderBy('id').select('id');
    const [created, building] = rows.map((r: { id: number }) => r.id);

    const byQuery = stream(`/projects/${p.id}/deployments/stream?lastEventId=${created}`);
    expect((await byQuery.waitFor(2)).map((e) => e.data.status)).toEqual(['building', 'done']);
    const both = stream(`/projects/${p.id}/deployments/stream?lastEventId=${created}`, { 'Last-Event-ID': String(building) });
    expect((await both.waitFor(1)).map((e) => e.data.status)).toEqual(['done']);
    await sleep(100);
    expect(both.events).toHaveLength(1);
  });

  it('the client reconnects by itself after the server ends its stream, and misses nothing', async () => {
    const p = await project();
    const client = stream(`/projects/${p.id}/deployments/stream`);
    await client.opened;
    const d = await deploy(p.id);
    await client.waitFor(1);
    // Cut the connection the way a dying process or a proxy would.
    running.server.closeAllConnections();
    await sleep(100); // let fetch's pool notice its sockets went too
    await report(p.secret, d.id, 'building');
    await report(p.secret, d.id, 'done');
    const events = await client.waitFor(3, 8_000); // EventSource waits `retry` (2 s) before reconnecting
    expect(events.map((e) => e.data.status)).toEqual(['pending', 'building', 'done']);
    expect(client.responses.length).toBeGreaterThanOrEqual(2);
    expect(client.responses.every((r) => r.status === 200)).toBe(true);
  }, 15_000);

  it('says reset when the changes after Last-Event-ID are no longer kept, or the id is not of this stream', async () => {
    const p = await project();
    const d = await deploy(p.id);
    const [row] = await database.db('deployment_changes').where({ deployment_id: d.id }).select('id');
    await report(p.secret, d.id, 'building');
    await sleep(100); // the hub has read both
    // The purge took everything up to the building change.
    await database
      .db('deployment_changes')
      .where('id', '<=', row!.id + 1)
      .delete();
    const expired = stream(`/projects/${p.id}/deployments/stream`, { 'Last-Event-ID': String(row!.id - 1) });
    const [reset] = await expired.waitFor(1);
    expect(reset).toMatchObject({ type: 'reset', data: { reason: 'expired' } });
    await report(p.secret, d.id, 'done'); // then live
    expect((await expired.waitFor(2))[1]!.data).toMatchObject({ id: d.id, status: 'done' });

    const unknown = stream('/deployments/stream', { 'Last-Event-ID': '999999999999' });
    const [first] = await unknown.waitFor(1);
    expect(first).toMatchObject({ type: 'reset', data: { reason: 'unknown' } });
    expect(Number(first!.id)).toBeLessThan(999999999999);
  });
});

describe('order and gaps: ids are taken before commit, commits come in any order', () => {
  async function openTransaction() {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query('begin');
    return client;
  }

  it('holds a change back while an earlier id is in flight, then sends both in id order', async () => {
    const p = await project();
    const [d1, d2] = [await deploy(p.id), await deploy(p.id)];
    await hubCaughtUp();
    const client = stream(`/projects/${p.id}/deployments/stream`);
    await client.opened;

    const tx = await openTransaction();
    try {
      await tx.query(`update deployments set status = 'building', updated_at = now() where id = $1`, [d1.id]); // takes id n, not committed
      await report(p.secret, d2.id, 'building'); // takes id n + 1, committed
      await sleep(300);
      expect(client.events).toEqual([]); // n + 1 must not go out before n
      await tx.query('commit');
    } finally {
      await tx.end();
    }
    const events = await client.waitFor(2);
    expect(events.map((e) => e.data.id)).toEqual([d1.id, d2.id]);
    expect(Number(events[1]!.id)).toBe(Number(events[0]!.id) + 1);
  });

  it('holds a change back while an earlier id is in flight in a transaction whose xid is newer than the one that committed', async () => {
    // The order the rolling check's concurrent webhooks hit: V gets its xid first, W gets a newer
    // one and takes change id n, V takes n + 1 and commits. W's xid is then not below the reading
    // snapshot's pg_snapshot_xmax (the last *completed* xid + 1), so that bound cannot prove n dead.
    const p = await project();
    const [d1, d2] = [await deploy(p.id), await deploy(p.id)];
    await hubCaughtUp();
    const client = stream(`/projects/${p.id}/deployments/stream`);
    await client.opened;
    const [v, w] = [await openTransaction(), await openTransaction()];
    try {
      await v.query('select pg_current_xact_id()');
      await w.query('select pg_current_xact_id()');
      await w.query(`update deployments set status = 'building', updated_at = now() where id = $1`, [d1.id]); // id n
      await v.query(`update deployments set status = 'building', updated_at = now() where id = $1`, [d2.id]); // id n + 1
      await v.query('commit');
      await sleep(300);
      expect(client.events).toEqual([]); // n + 1 must not go out while n can still commit
      await w.query('commit');
    } finally {
      await Promise.all([v.end(), w.end()]);
    }
    const events = await client.waitFor(2);
    expect(events.map((e) => e.data.id)).toEqual([d1.id, d2.id]);
  });

  it('skips an id whose transaction rolled back, as soon as no transaction that could hold it is left', async () => {
    const p = await project();
    const [d1, d2] = [await deploy(p.id), await deploy(p.id)];
    await hubCaughtUp();
    const client = stream(`/projects/${p.id}/deployments/stream`);
    await client.opened;
    const tx = await openTransaction();
    try {
      await tx.query(`update deployments set status = 'failed', updated_at = now() where id = $1`, [d1.id]);
      await report(p.secret, d2.id, 'deploying');
      await sleep(200);
      expect(client.events).toEqual([]);
      const timedOutBefore = hub.status().timedOutIds;
      await tx.query('rollback');
      const [event] = await client.waitFor(1, 20_000);
      expect(event!.data).toMatchObject({ id: d2.id, status: 'deploying' });
      // The snapshot let it through, not the 10 s escape hatch: the hub gave up on no id.
      expect(hub.status().timedOutIds).toBe(timedOutBefore);
    } finally {
      await tx.end();
    }
  });

  it('under concurrent changes through the API, every stream gets every change once, in id order', async () => {
    const projects = await Promise.all([project(), project(), project()]);
    const all = stream('/deployments/stream');
    const perProject = projects.map((p) => stream(`/projects/${p.id}/deployments/stream`));
    await Promise.all([all.opened, ...perProject.map((c) => c.opened)]);
    const deployments = await Promise.all(projects.flatMap((p) => [1, 2, 3].map(async () => ({ p, d: await deploy(p.id) }))));
    await Promise.all(
      deployments.map(async ({ p, d }) => {
        for (const status of ['building', 'deploying', 'done']) await report(p.secret, d.id, status);
      }),
    );
    const expected = 9 * 4;
    try {
      await all.waitFor(expected, 10_000);
    } catch (err) {
      // Seen once in CI (one change of 36 missing from the all-projects stream, not reproduced in
      // dozens of runs since): say what the table holds and what the hub gave up on.
      const logged = await database
        .db('deployment_changes')
        .whereIn(
          'project_id',
          projects.map((p) => p.id),
        )
        .orderBy('id')
        .select('id', 'deployment_id', 'status');
      throw new Error(
        `${(err as Error).message}\ndeployment_changes: ${JSON.stringify(logged.map((r: any) => [r.id, r.deployment_id, r.status]))}\nhub: ${JSON.stringify(hub.status())}`,
      );
    }
    await sleep(150);
    expect(all.events).toHaveLength(expected);
    const rows = await database
      .db('deployment_changes')
      .whereIn(
        'project_id',
        projects.map((p) => p.id),
      )
      .orderBy('id')
      .select('id', 'deployment_id', 'status');
    expect(all.events.map((e) => [Number(e.id), e.data.id, e.data.status])).toEqual(
      rows.map((r: any) => [r.id, r.deployment_id, r.status]),
    );
    for (const [i, p] of projects.entries()) {
      await perProject[i]!.waitFor(12);
      expect(perProject[i]!.events.map((e) => e.id)).toEqual(all.events.filter((e) => e.data.projectId === p.id).map((e) => e.id));
    }
  });
});

describe('errors and limits', () => {
  it('401 without the admin token, 404 for an unknown project, 400 for a Last-Event-ID that is not an id', async () => {
    const p = await project();
    for (const path of ['/deployments/stream', `/projects/${p.id}/deployments/stream`]) {
      const res = await api('get', path, { token: null });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect((await api('get', path, { token: 'wrong-token-0123456789' })).status).toBe(401);
    }
    const missing = await api('get', '/projects/2147483647/deployments/stream');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ name: 'NotFoundError', message: 'Project 2147483647 not found' });
    expect((await api('get', '/projects/abc/deployments/stream')).status).toBe(400);
    const bad = await api('get', '/deployments/stream', { headers: { 'Last-Event-ID': 'abc' } });
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual([{ path: 'header.last-event-id', message: expect.any(String) }]);
    expect((await api('get', '/deployments/stream?lastEventId=-1')).status).toBe(400);
    // GET /deployments/{id} still answers for real ids and refuses others.
    const d = await deploy(p.id);
    expect((await api('get', `/deployments/${d.id}`)).body.id).toBe(d.id);
    expect((await api('get', '/deployments/streams')).status).toBe(400);
  });

  it('503 with Retry-After beyond STREAM_MAX_CLIENTS, and without a hub', async () => {
    const { logger } = logCapture();
    const small = testStreamHub(database, logger, { STREAM_MAX_CLIENTS: 2, STREAM_POLL_MS: 50 });
    await small.start();
    const config = { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app' };
    const server = await listen(createApp({ db: database.db, logger, config, streamHub: small }), {
      port: 0,
      host: '127.0.0.1',
      logger,
      drainDelayMs: 0,
    });
    const bare = await listen(createApp({ db: database.db, logger, config }), { port: 0, host: '127.0.0.1', logger, drainDelayMs: 0 });
    const saved = base;
    try {
      base = `http://127.0.0.1:${server.port}`;
      const open = [stream('/deployments/stream'), stream('/deployments/stream')];
      await Promise.all(open.map((c) => c.opened));
      const full = await api('get', '/deployments/stream');
      expect(full.status).toBe(503);
      expect(full.headers['retry-after']).toBe('5');
      expect(full.body.name).toBe('ServiceUnavailableError');
      open[0]!.close();
      for (let i = 0; i < 1_000 && small.streams > 1; i++) await sleep(10);
      const third = stream('/deployments/stream');
      await third.opened;

      base = `http://127.0.0.1:${bare.port}`;
      const none = await api('get', '/deployments/stream');
      expect(none.status).toBe(503);
      expect(none.headers['retry-after']).toBeDefined();
    } finally {
      base = saved;
      clients.closeQuietly();
      await Promise.all([server.shutdown('test'), bare.shutdown('test'), small.stop()]);
    }
  });

  it("the server's requestTimeout does not cut a stream: it bounds receiving the request, not sending the response", async () => {
    // The same app, on a server that checks its timeouts every 50 ms (Node checks every 30 s by
    // default) with a requestTimeout of 300 ms: a stream stays open well past it.
    const { logger } = logCapture();
    const app = createApp({
      db: database.db,
      logger,
      config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app' },
      streamHub: hub,
    });
    const serve = app.callback(); // Koa answers its own errors: its promise only says when a request is done
    const server = http.createServer(
      { connectionsCheckingInterval: 50, requestTimeout: 300, headersTimeout: 200, keepAliveTimeout: 100 },
      (req, res) => void serve(req, res),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const raw = rawStream(`http://127.0.0.1:${(server.address() as AddressInfo).port}/deployments/stream`, token);
    try {
      await raw.waitForText(/retry/);
      await sleep(1_200);
      const heartbeats = raw.text.split(': heartbeat').length - 1;
      expect(heartbeats).toBeGreaterThanOrEqual(5);
      await sleep(HEARTBEAT_MS * 2);
      expect(raw.text.split(': heartbeat').length - 1).toBeGreaterThan(heartbeats); // still flowing
    } finally {
      raw.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('purges changes older than the replay window, and keeps the others', async () => {
    const p = await project();
    const [oldOne, recent] = [await deploy(p.id), await deploy(p.id)];
    await database
      .db('deployment_changes')
      .where({ deployment_id: oldOne.id })
      .update({ changed_at: database.db.raw(`now() - interval '1 hour'`) });
    const { logger } = logCapture();
    const purging = testStreamHub(database, logger, { STREAM_REPLAY_WINDOW_MS: 30 * 60_000, STREAM_POLL_MS: 20 }, { purgeEveryMs: 20 });
    await purging.start();
    try {
      for (let i = 0; i < 100 && (await database.db('deployment_changes').where({ deployment_id: oldOne.id })).length > 0; i++)
        await sleep(20);
    } finally {
      await purging.stop();
    }
    expect(await database.db('deployment_changes').where({ deployment_id: oldOne.id })).toEqual([]);
    expect(await database.db('deployment_changes').where({ deployment_id: recent.id })).toHaveLength(1);
  });

  it('stop() ends every open stream at once', async () => {
    const { logger } = logCapture();
    const local = testStreamHub(database, logger);
    await local.start();
    const server = await listen(
      createApp({ db: database.db, logger, config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app' }, streamHub: local }),
      // A grace far beyond the test's timeout: a shutdown that waited for the stream could not finish in time.
      { port: 0, host: '127.0.0.1', logger, graceMs: 10 * 60_000, drainDelayMs: 0 },
    );
    const raw = rawStream(`http://127.0.0.1:${server.port}/deployments/stream`, token);
    await raw.waitForText(/retry/);
    await Promise.all([server.shutdown('test'), local.stop()]);
    expect(await raw.end).toBe('ended');
    expect(local.streams).toBe(0);
  });
});

describe('migration 20261121000200_deployment_notify', () => {
  it('down removes the table, the triggers and the function; up brings them back and they work', async () => {
    const scratch = await createTestDatabase('project');
    try {
      const objects = async () => {
        const { rows } = await scratch.db.raw<{ rows: Array<{ n: number }> }>(`
          select (select count(*) from pg_class where relname = 'deployment_changes')
               + (select count(*) from pg_trigger where tgname like 'deployment_changes_%')
               + (select count(*) from pg_proc where proname = 'deployment_changes_record') as n`);
        return Number(rows[0]!.n);
      };
      expect(await objects()).toBe(4);
      await notifyMigration.down(scratch.db);
      expect(await objects()).toBe(0);
      const p = await factories(scratch.db).project();
      await scratch.db('deployments').insert({ project_id: p.id }); // deployments work without it
      await notifyMigration.up(scratch.db);
      expect(await objects()).toBe(4);
      await scratch.db('deployments').insert({ project_id: p.id });
      expect(await scratch.db('deployment_changes').count<{ count: number }[]>('* as count')).toEqual([{ count: 1 }]);
    } finally {
      await scratch.drop();
    }
  });
});
