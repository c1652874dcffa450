import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'csv-parse';
import Router from '@koa/router';
import Koa from 'koa';
import {
  createDb,
  createLogger,
  problemMiddleware,
  requestContext,
  requireBearer,
  type EventEnvelope,
  type Knex,
  type Logger,
  type RequestState,
} from '@hosting/shared';
import { listenLocally, logCapture, startPgRowTap, type LocalServer, type PgRowTap } from '@hosting/shared/testing';
import { EXPORT_BATCH_ROWS, createExportRepo } from '../src/features/export/export.repo.js';
import { registerExportRoutes } from '../src/features/export/export.routes.js';
import { createExportService } from '../src/features/export/export.service.js';
import { aggregatorContract, testService, uniqueId, type TestService } from './helpers.js';

/**
 * GET /events/export over real listening servers and a real PostgreSQL.
 *
 * Nothing here depends on the machine's speed or on reading a large export: flat memory and
 * backpressure are shown by what they mean. A client that reads nothing makes the server stop
 * fetching from the database cursor (counted by a tap on the database connection, which sees
 * every row PostgreSQL sends), with at most a few cursor batches fetched beyond what the server
 * has written to the socket: the rows in flight are bounded, whatever the export's size. How fast
 * an export runs, and the process's memory during a large one, are `npm run bench`'s export phase.
 */
let svc: TestService;
let listening: LocalServer;
let base: string;

/** Events read whole: a few cursor batches' worth (so order and completeness cross batch boundaries), small. */
const ORDERED = Math.round(2.5 * EXPORT_BATCH_ROWS);
const ORDERED_PROJECT = 900_000_002;

/**
 * Events never read whole: far more text than the socket buffers between server and client can
 * hold (each NDJSON line carries the filler, so is over FILLER_CHARS bytes), so that a server
 * that does not wait for its client would fetch them all.
 */
const BULK = 40_000;
const BULK_PROJECT = 900_000_001;
const FILLER_CHARS = 4_000;

/**
 * Rows the server may hold that it has not yet written to the socket: pg-query-stream's buffer (one
 * batch, refilled a batch at a time), the batch on the wire from PostgreSQL, the text piece being built.
 */
const ROWS_IN_FLIGHT_BOUND = 3 * EXPORT_BATCH_ROWS;

/** A payload that every CSV or JSON writer has to get right. */
const AWKWARD_TEXTS = [
  'a, b, c',
  'say "hello", then "bye"',
  '"starts and ends with quotes"',
  'two\nlines',
  'windows\r\nline',
  'lone\rcarriage return',
  'tab\there, backslash \\ and \\n as text',
  'ünïcödé ß 中文 עברית',
  'emoji 🚀🎉👩‍👩‍👧 and a flag 🇫🇷',
  '',
  ',',
  '"',
  'line separator \u2028 and paragraph \u2029',
];

async function insertEvents(): Promise<void> {
  // One statement each, from generate_series. The bulk filler compresses in storage; the export sends it whole.
  await svc.db.raw(
    `insert into events (event_id, name, payload, occurred_at, project_id, deployment_id, user_id)
     select gen_random_uuid(),
            case when i % 3 = 0 then 'deployment.created' else 'deployment.status_changed' end,
            jsonb_build_object('projectId', cast(:project as int), 'projectName', 'ordered-project', 'userId', 1 + i % 50,
                               'deploymentId', i, 'source', 'webhook', 'requestId', md5(i::text), 'from', 'building',
                               'to', 'deploying', 'deployedIn', null),
            timestamptz '2026-01-01T00:00:00Z' + i * interval '1 second', cast(:project as int), i, 1 + i % 50
     from generate_series(1, cast(:count as int)) as i`,
    { project: ORDERED_PROJECT, count: ORDERED },
  );
  await svc.db.raw(
    `insert into events (event_id, name, payload, occurred_at, project_id, deployment_id, user_id)
     select gen_random_uuid(), 'deployment.created',
            jsonb_build_object('projectId', cast(:project as int), 'deploymentId', i, 'filler', repeat('x', cast(:filler as int))),
            timestamptz '2025-01-01T00:00:00Z' + i * interval '1 second', cast(:project as int), i, 1
     from generate_series(1, cast(:count as int)) as i`,
    { project: BULK_PROJECT, count: BULK, filler: FILLER_CHARS },
  );
}

const awkward: EventEnvelope[] = AWKWARD_TEXTS.map((text, i) => ({
  eventId: randomUUID(),
  name: 'test.awkward_payload',
  // Among the ordered events' instants (some on the same second), so that they come out in the middle of the export.
  occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 20, i)).toISOString(),
  payload: { projectId: ORDERED_PROJECT, text, 'key, with "quotes"\nand a newline': text, nested: { list: [text, 1, null, true] } },
}));

beforeAll(async () => {
  svc = await testService();
  listening = await listenLocally(svc.app.callback());
  base = listening.url;
  await insertEvents();
  const res = await svc.call('post', '/events', { body: awkward });
  expect(res.body.stored).toBe(awkward.length);
}, 60_000);

afterAll(async () => {
  await listening.close();
  await svc.close();
});

/** A GET; the answer unread (paused: once its buffers fill, the server's writes wait) until the caller reads it. */
function get(url: string, options: { token?: string | null; signal?: AbortSignal } = {}): Promise<http.IncomingMessage> {
  const token = options.token === undefined ? svc.token : options.token;
  return new Promise((resolve, reject) => {
    // A connection of its own each time (no keep-alive agent), so that each export has its own server socket.
    const req = http.get(
      url,
      { agent: false, headers: token === null ? {} : { Authorization: `Bearer ${token}` }, signal: options.signal },
      resolve,
    );
    req.on('error', reject);
  });
}

/** Status, headers and whole body of a small answer of the service's app, checked against its document. */
async function fetchText(path: string, options: { token?: string | null; base?: string } = {}) {
  const res = await get(`${options.base ?? base}${path}`, options);
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk as string;
  const type = res.headers['content-type'];
  const body = type?.startsWith('application/json') ? JSON.parse(text) : text;
  aggregatorContract().check('get', path, res.statusCode!, body, type, res.headers);
  return { status: res.statusCode!, headers: res.headers, text, body };
}

function checkHeaders(path: string, res: http.IncomingMessage): void {
  aggregatorContract().check('get', path, res.statusCode!, undefined, res.headers['content-type'], res.headers);
}

/**
 * Reads an answer, counting its lines, to its end or until `stopAfter` lines: `complete` when the
 * server ended it properly, `cut` when it ended short (a chunked body without its last chunk),
 * `stopped` when the reader had enough.
 */
async function readLines(
  res: http.IncomingMessage,
  stopAfter = Infinity,
): Promise<{ lines: number; ended: 'complete' | 'cut' | 'stopped' }> {
  let lines = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
      if (lines >= stopAfter) return { lines, ended: 'stopped' }; // leaving the loop destroys the answer
    }
  } catch {
    return { lines, ended: 'cut' };
  }
  return { lines, ended: res.complete ? 'complete' : 'cut' };
}

/** Polls `condition` until it holds; fails naming `what` if it never does. */
async function until(what: string, condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await sleep(100);
  }
  throw new Error(`never happened: ${what}`);
}

/**
 * Waits until the tap has seen no new row for half a second: the server has stopped fetching, and
 * returns how many it fetched. A stall of the machine can only make this early, never late, and
 * every count it gives is then used as an upper bound: a slow machine cannot fail these tests.
 */
async function fetchingStopped(tap: PgRowTap): Promise<number> {
  let last = tap.rows();
  for (let quiet = 0; quiet < 5;) {
    await sleep(100);
    const now = tap.rows();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
  return last;
}

/**
 * The export alone over a database of its own reached through a row tap: one pool connection
 * (so a next export succeeding shows the connection went back to the pool), and an application
 * name by which PostgreSQL shows what that connection is doing. `sockets` are the server sides of
 * its connections, to see how much it has written.
 */
/** The export's limits a test may tighten (the service's own are constants of the export feature). */
interface ExportLimits {
  maxConcurrent?: number;
  maxDurationMs?: number;
  idleTimeoutMs?: number;
}

async function exportServer(options: { limits?: ExportLimits; statementTimeoutMs?: number; pool?: number; logger?: Logger } = {}) {
  const applicationName = `jest-export-${uniqueId()}`;
  const tap = await startPgRowTap(svc.database.url);
  const db: Knex = createDb({
    connectionString: tap.url,
    applicationName,
    statementTimeoutMs: options.statementTimeoutMs,
    pool: { max: options.pool ?? 1 },
  });
  const app = new Koa<RequestState>();
  app.silent = true; // the cut-off streams are the point of these tests; no console noise
  app.use(requestContext(options.logger ?? createLogger({ level: 'silent' })));
  app.use(problemMiddleware());
  const router = new Router<RequestState>();
  const limits = options.limits ?? {};
  registerExportRoutes(router, {
    auth: requireBearer(svc.token),
    exports: createExportService({
      exports: createExportRepo(db, { maxDurationMs: limits.maxDurationMs }),
      maxConcurrent: limits.maxConcurrent,
    }),
    idleTimeoutMs: limits.idleTimeoutMs,
  });
  app.use(router.routes());
  const server = await listenLocally(app.callback());
  const sockets: Socket[] = [];
  server.server.on('connection', (socket) => sockets.push(socket));
  return {
    url: (path: string) => `${server.url}${path}`,
    tap,
    sockets,
    /** PostgreSQL's view of this server's connections: how many exist, and how many are in a transaction or a query. */
    backends: async () => {
      const { rows } = await svc.db.raw<{ rows: Array<{ open: number; busy: number }> }>(
        `select count(*)::int as open, (count(*) filter (where state <> 'idle'))::int as busy
         from pg_stat_activity where application_name = :applicationName`,
        { applicationName },
      );
      return rows[0]!;
    },
    close: async () => {
      await server.close();
      await db.destroy();
      await tap.close();
    },
  };
}
type ExportServer = Awaited<ReturnType<typeof exportServer>>;

/** Waits until no connection of `server` is in a transaction, then shows the pool hands it out again: a small export whole. */
async function connectionBackAndClean(server: ExportServer): Promise<void> {
  await until('the export connection left its transaction', async () => (await server.backends()).busy === 0);
  const next = await get(server.url('/events/export?format=csv&name=test.awkward_payload'));
  expect(next.statusCode).toBe(200);
  // JSON escapes every line break in a payload: each record is one line.
  expect(await readLines(next)).toEqual({ lines: 1 + awkward.length, ended: 'complete' });
}

describe('GET /events/export, read whole', () => {
  it('streams every event as NDJSON, oldest first, across cursor batches', async () => {
    const path = `/events/export?format=ndjson&projectId=${ORDERED_PROJECT}`;
    const res = await get(`${base}${path}`);
    expect(res.statusCode).toBe(200);
    checkHeaders(path, res);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="events-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.ndjson"$/);
    expect(res.headers['content-length']).toBeUndefined();

    let count = 0;
    let previous = { occurredAt: '', id: 0 };
    const found = new Map<string, unknown>();
    for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
      const event = JSON.parse(line) as { id: number; eventId: string; name: string; occurredAt: string; payload: unknown };
      // Oldest first by (occurredAt, id).
      if (event.occurredAt < previous.occurredAt || (event.occurredAt === previous.occurredAt && event.id <= previous.id)) {
        throw new Error(`out of order at line ${count + 1}: ${line.slice(0, 200)}`);
      }
      previous = event;
      if (count === 0) {
        expect(Object.keys(event)).toEqual([
          'id',
          'eventId',
          'name',
          'occurredAt',
          'createdAt',
          'projectId',
          'deploymentId',
          'userId',
          'payload',
        ]);
      }
      if (event.name === 'test.awkward_payload') found.set(event.eventId, event.payload);
      count++;
    }
    expect(count).toBe(ORDERED + awkward.length);
    expect(Object.fromEntries(found)).toEqual(Object.fromEntries(awkward.map((e) => [e.eventId, e.payload])));
  });

  it('streams every event as RFC 4180 CSV that a strict CSV parser reads back exactly', async () => {
    const path = `/events/export?format=csv&projectId=${ORDERED_PROJECT}`;
    const res = await get(`${base}${path}`);
    expect(res.statusCode).toBe(200);
    checkHeaders(path, res);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="events-[0-9TZ-]+\.csv"$/);

    const records: string[][] = [];
    for await (const record of res.pipe(parse({ relax_quotes: false, relax_column_count: false }))) records.push(record as string[]);
    expect(records[0]).toEqual(['id', 'eventId', 'name', 'occurredAt', 'createdAt', 'projectId', 'deploymentId', 'userId', 'payload']);
    expect(records).toHaveLength(1 + ORDERED + awkward.length);
    const found = new Map(records.slice(1).map((fields) => [fields[1]!, fields]));
    // Every awkward event reads back as stored: each column, and the payload's JSON text.
    const stored = await svc
      .db('events')
      .whereIn(
        'event_id',
        awkward.map((e) => e.eventId),
      )
      .select('*');
    expect(stored).toHaveLength(awkward.length);
    for (const row of stored) {
      const fields = found.get(row.event_id);
      expect(fields).toEqual([
        String(row.id),
        row.event_id,
        'test.awkward_payload',
        row.occurred_at.toISOString(),
        row.created_at.toISOString(),
        String(ORDERED_PROJECT),
        '',
        '',
        expect.any(String),
      ]);
      expect(JSON.parse(fields![8]!)).toEqual(row.payload);
    }
  });
});

describe('GET /events/export: backpressure, the database connection, limits', () => {
  it('stops fetching while the client reads nothing, holding a bounded number of rows, and gives the connection back when the client leaves', async () => {
    const server = await exportServer();
    const abort = new AbortController();
    try {
      const res = await get(server.url(`/events/export?projectId=${BULK_PROJECT}`), { signal: abort.signal });
      res.on('error', () => {}); // the abort surfaces as an error on the answer
      expect(res.statusCode).toBe(200);
      // The client reads nothing. Once the socket buffers are full, the server must stop fetching.
      const fetched = await fetchingStopped(server.tap);
      const written = server.sockets[0]!.bytesWritten; // read after `fetched`: it only grows
      expect(fetched).toBeGreaterThan(0);
      expect(fetched).toBeLessThan(BULK); // it did not read the export through
      // Every row written is a line over FILLER_CHARS bytes: what was fetched and not yet written is bounded.
      expect(fetched - Math.floor(written / FILLER_CHARS)).toBeLessThanOrEqual(ROWS_IN_FLIGHT_BOUND);
      expect((await server.backends()).busy).toBe(1); // the export's cursor stays open meanwhile
      abort.abort();
      await connectionBackAndClean(server);
    } finally {
      abort.abort();
      await server.close();
    }
  });

  it("outlives the database's statement timeout, which PostgreSQL applies to a whole cursor, not to each fetch", async () => {
    // Statements time out after 300 ms here (3 s in production). PostgreSQL keeps a statement's timer
    // running across suspended fetches of a portal: without the export's own `set local
    // statement_timeout`, the first fetch after a pause longer than that would fail.
    const server = await exportServer({ statementTimeoutMs: 300 });
    try {
      const res = await get(server.url(`/events/export?projectId=${BULK_PROJECT}`));
      expect(res.statusCode).toBe(200);
      await sleep(1_000); // over three statement timeouts without reading
      const fetchedBeforeReading = await fetchingStopped(server.tap);
      // Reading past every row fetched before needs a fetch after the pause.
      expect(await readLines(res, fetchedBeforeReading + 1)).toMatchObject({ ended: 'stopped' });
      expect(server.tap.rows()).toBeGreaterThan(fetchedBeforeReading);
    } finally {
      await server.close();
    }
  });

  it('cuts off a client that stops reading, and gives the connection back', async () => {
    const { logger, records } = logCapture();
    const server = await exportServer({ limits: { idleTimeoutMs: 400 }, logger });
    const abort = new AbortController();
    try {
      const res = await get(server.url(`/events/export?projectId=${BULK_PROJECT}`), { signal: abort.signal });
      res.on('error', () => {});
      expect(res.statusCode).toBe(200);
      // The client never reads: the server side must end the export by itself.
      await until('the idle client was cut off', () => records().some((r) => r.msg === 'export client stopped reading; cutting it off'));
      await connectionBackAndClean(server);
    } finally {
      abort.abort();
      await server.close();
    }
  });

  it('ends an export that outlives its maximum duration: a cut answer, the connection back and clean', async () => {
    // The duration is counted from before the first byte, so pausing that long after the answer
    // started outlives it. Long enough that a loaded machine still starts the export within it.
    const maxDurationMs = 3_000;
    const server = await exportServer({ limits: { maxDurationMs } });
    try {
      const res = await get(server.url(`/events/export?projectId=${BULK_PROJECT}`));
      expect(res.statusCode).toBe(200);
      await sleep(maxDurationMs);
      await fetchingStopped(server.tap);
      expect(await readLines(res)).toMatchObject({ ended: 'cut' });
      await connectionBackAndClean(server);
    } finally {
      await server.close();
    }
  });

  it('runs at most two exports at once: a third is a 503 with Retry-After, and the slots come back', async () => {
    const server = await exportServer({ pool: 3 });
    const path = `/events/export?projectId=${BULK_PROJECT}`;
    /** Two exports left unread, so that both hold their slot; their aborts. */
    const twoRunning = async () => {
      const aborts = [new AbortController(), new AbortController()];
      const running = await Promise.all(aborts.map((a) => get(server.url(path), { signal: a.signal })));
      for (const r of running) r.on('error', () => {});
      return { statuses: running.map((r) => r.statusCode), abort: () => aborts.forEach((a) => a.abort()) };
    };
    try {
      const first = await twoRunning();
      try {
        expect(first.statuses).toEqual([200, 200]);
        const third = await fetchText(path, { base: server.url('') });
        expect(third.status).toBe(503);
        expect(third.body.name).toBe('ServiceUnavailableError');
        expect(third.headers['retry-after']).toBe('10');
      } finally {
        first.abort();
      }
      // A slot comes back just after its connection: try until both are (never, and this fails).
      await until('both slots came back', async () => {
        await until('the exports left their transactions', async () => (await server.backends()).busy === 0);
        const again = await twoRunning();
        again.abort();
        return again.statuses.every((status) => status === 200);
      });
    } finally {
      await server.close();
    }
  });
});

describe('GET /events/export: formats, filters, errors', () => {
  const projectId = uniqueId();
  const events: EventEnvelope[] = [0, 1, 2, 3].map((i) => ({
    eventId: randomUUID(),
    name: i === 2 ? 'deployment.succeeded' : 'test.filtered',
    occurredAt: `2026-06-0${i + 1}T00:00:00.000Z`,
    payload: {
      projectId,
      deploymentId: 10 + i,
      userId: 5,
      ...(i === 2 ? { projectName: 'p', source: 'api', requestId: null, deployedIn: 3 } : {}),
    },
  }));
  const exported = async (query: string) =>
    (await fetchText(`/events/export?${query}`)).text
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { eventId: string }).eventId);
  const ids = (...indexes: number[]) => indexes.map((i) => events[i]!.eventId);

  beforeAll(async () => {
    // Sent newest first: the export's order is by occurrence, not by arrival.
    expect((await svc.call('post', '/events', { body: [...events].reverse() })).body.stored).toBe(4);
  });

  it('is NDJSON when no format is given, each line the event as GET /events/{id} shows it', async () => {
    const res = await fetchText(`/events/export?projectId=${projectId}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const lines = res.text.split('\n');
    expect(lines.pop()).toBe(''); // every line ends in \n, the last one too
    expect(lines.map((l) => JSON.parse(l).eventId)).toEqual(ids(0, 1, 2, 3));
    const first = JSON.parse(lines[0]!);
    expect((await svc.call('get', `/events/${first.id}`)).body).toEqual(first);
  });

  it.each([
    ['name', `name=test.filtered`, [0, 1, 3]],
    ['from (inclusive)', `from=2026-06-02T00:00:00Z`, [1, 2, 3]],
    ['to (exclusive)', `to=2026-06-03T00:00:00Z`, [0, 1]],
    ['from and to with an offset', `from=2026-06-02T02:00:00%2B02:00&to=2026-06-04T00:00:00Z`, [1, 2]],
    ['deploymentId', `deploymentId=12`, [2]],
  ])('filters by %s', async (_what, query, expected) => {
    expect(await exported(`projectId=${projectId}&${query}`)).toEqual(ids(...expected));
  });

  it('writes a CSV that a strict CSV parser reads back whole: every awkward payload as stored', async () => {
    const path = '/events/export?format=csv&name=test.awkward_payload';
    const res = await get(`${base}${path}`);
    checkHeaders(path, res);
    const records: string[][] = [];
    for await (const record of res.pipe(parse({ relax_quotes: false, relax_column_count: false }))) records.push(record as string[]);
    expect(records[0]).toEqual(['id', 'eventId', 'name', 'occurredAt', 'createdAt', 'projectId', 'deploymentId', 'userId', 'payload']);
    const payloads = new Map(records.slice(1).map((r) => [r[1], JSON.parse(r[8]!)]));
    expect(Object.fromEntries(payloads)).toEqual(Object.fromEntries(awkward.map((e) => [e.eventId, e.payload])));
  });

  it('is an empty file when nothing matches: no line in NDJSON, the header alone in CSV', async () => {
    const none = `projectId=${uniqueId()}`;
    expect((await fetchText(`/events/export?${none}`)).text).toBe('');
    expect((await fetchText(`/events/export?format=csv&${none}`)).text).toBe(
      'id,eventId,name,occurredAt,createdAt,projectId,deploymentId,userId,payload\r\n',
    );
  });

  it.each([
    ['an unknown format', 'format=xml', 'query.format'],
    ['a format in upper case', 'format=CSV', 'query.format'],
    ['an empty format', 'format=', 'query.format'],
    ['two formats', 'format=csv&format=ndjson', 'query.format'],
    ['a from that is not an instant', 'from=yesterday', 'query.from'],
    ['a projectId that is not an id', 'projectId=0', 'query.projectId'],
  ])('is a 400 for %s, without opening a database connection', async (_what, query, path) => {
    const server = await exportServer();
    try {
      const res = await fetchText(`/events/export?${query}`, { base: server.url('') });
      expect(res.status).toBe(400);
      expect(res.body.name).toBe('ValidationError');
      expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual([path]);
      expect(await server.backends()).toEqual({ open: 0, busy: 0 });
    } finally {
      await server.close();
    }
  });

  it('is a 401 without the token', async () => {
    const res = await fetchText('/events/export', { token: null });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });
});
