import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parse } from 'csv-parse';
import { parse as parseCsv } from 'csv-parse/sync';
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
  type RequestState,
} from '@hosting/shared';
import { listenLocally, type LocalServer } from '@hosting/shared/testing';
import { createExportRepo } from '../src/features/export/export.repo.js';
import { registerExportRoutes } from '../src/features/export/export.routes.js';
import { createExportService } from '../src/features/export/export.service.js';
import { createApp, aggregatorContract, testService, uniqueId, type TestService } from './helpers.js';

/**
 * GET /events/export over a real listening server: 200,000 events streamed as NDJSON and as CSV
 * and read back line by line, CSV quoting checked by parsing it back, the process's memory watched
 * during the export, backpressure, a client that leaves, the concurrency cap, and the errors.
 */
let svc: TestService;
let listening: LocalServer;
let base: string;
/** The server side of each connection, to see how much the server has written. */
const serverSockets: Socket[] = [];

const BULK = 200_000;
/** The bulk events are all about this project, and only they are. */
const BULK_PROJECT = 900_000_001;

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

async function startBulk(): Promise<void> {
  // One statement: 200k rows from generate_series (a few seconds with the five indexes).
  await svc.db.raw(
    `insert into events (event_id, name, payload, occurred_at, project_id, deployment_id, user_id)
     select gen_random_uuid(),
            case when i % 3 = 0 then 'deployment.created' else 'deployment.status_changed' end,
            jsonb_build_object('projectId', ?::int, 'projectName', 'bulk-project', 'userId', 1 + i % 50, 'deploymentId', i,
                               'source', 'webhook', 'requestId', md5(i::text), 'from', 'building', 'to', 'deploying', 'deployedIn', null),
            timestamptz '2026-01-01T00:00:00Z' + i * interval '1 second', ?::int, i, 1 + i % 50
     from generate_series(1, ?::int) as i`,
    [BULK_PROJECT, BULK_PROJECT, BULK],
  );
}

const awkward: EventEnvelope[] = AWKWARD_TEXTS.map((text, i) => ({
  eventId: randomUUID(),
  name: 'test.awkward_payload',
  // Among the bulk events' instants, so that they come out in the middle of the export.
  occurredAt: new Date(Date.UTC(2026, 0, 1, 10, 0, i)).toISOString(),
  payload: { projectId: BULK_PROJECT, text, 'key, with "quotes"\nand a newline': text, nested: { list: [text, 1, null, true] } },
}));

beforeAll(async () => {
  svc = await testService();
  listening = await listenLocally(svc.app.callback());
  listening.server.on('connection', (socket) => serverSockets.push(socket));
  base = listening.url;
  const started = performance.now();
  await startBulk();
  measured.insertSeconds = Math.round((performance.now() - started) / 100) / 10;
  const res = await svc.call('post', '/events', { body: awkward });
  expect(res.body.stored).toBe(awkward.length);
}, 60_000);

afterAll(async () => {
  await listening.close();
  await svc.close();
});

/** A GET on the listening server; the answer unread (paused) until the caller reads it. */
function get(url: string, options: { token?: string | null; signal?: AbortSignal } = {}): Promise<http.IncomingMessage> {
  const token = options.token === undefined ? svc.token : options.token;
  return new Promise((resolve, reject) => {
    // A connection of its own each time (no keep-alive agent), so that each export has its own server socket.
    const req = http.get(
      `${base}${url}`,
      { agent: false, headers: token === null ? {} : { Authorization: `Bearer ${token}` }, signal: options.signal },
      resolve,
    );
    req.on('error', reject);
  });
}

/** Status, headers and whole body of a small answer, checked against the service's document. */
async function fetchText(url: string, options: { token?: string | null } = {}) {
  const res = await get(url, options);
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk as string;
  const type = res.headers['content-type'];
  const body = type?.startsWith('application/json') ? JSON.parse(text) : text;
  aggregatorContract().check('get', url, res.statusCode!, body, type, res.headers as Record<string, string>);
  return { status: res.statusCode!, headers: res.headers, text, body };
}

function checkHeaders(url: string, res: http.IncomingMessage): void {
  aggregatorContract().check('get', url, res.statusCode!, undefined, res.headers['content-type'], res.headers as Record<string, string>);
}

/** The database connections knex's pool has handed out and not had back. */
const connectionsInUse = () => (svc.db.client as { pool: { numUsed(): number } }).pool.numUsed();

async function until(condition: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------------------------------------
// Memory: sampled every 10 ms while an export of the 200k events streams through this process
// (server and client both live here, so this is an upper bound for the server alone).

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Watch {
  stop(): { heapGrowthMb: number; rssGrowthMb: number };
}
function watchMemory(): Watch {
  gc();
  const baseline = process.memoryUsage();
  let maxHeap = baseline.heapUsed;
  let maxRss = baseline.rss;
  const timer = setInterval(() => {
    const m = process.memoryUsage();
    maxHeap = Math.max(maxHeap, m.heapUsed);
    maxRss = Math.max(maxRss, m.rss);
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
      return { heapGrowthMb: mb(maxHeap - baseline.heapUsed), rssGrowthMb: mb(maxRss - baseline.rss) };
    },
  };
}

/**
 * The bound on memory growth during a 200k-event export. It is meaningful: the NDJSON export of
 * these events is ~85 MB of text (asserted below: the body alone is over 1.25 times the bound), so any
 * implementation that buffers the answer before sending it exceeds the bound on the body alone,
 * before counting the 200k row objects it would also hold (each a dozen properties, two Dates and
 * a parsed payload of 11 keys: ~1 kB of V8 heap per row, ~200 MB in all). A streaming export holds
 * one 1,000-row batch and a 64 kB piece of text at a time: a few MB.
 */
const BOUND_MB = 60;
const measured: Record<string, unknown> = {};

afterAll(() => {
  // The figures for the write-up: memory growth and throughput of each export.
  process.stdout.write(`export.test figures: ${JSON.stringify(measured)}\n`);
});

describe('GET /events/export of 200,000 events', () => {
  it('streams every event as NDJSON, oldest first, in flat memory', async () => {
    const url = `/events/export?format=ndjson&projectId=${BULK_PROJECT}`;
    const watch = watchMemory();
    const started = performance.now();
    const res = await get(url);
    expect(res.statusCode).toBe(200);
    checkHeaders(url, res);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="events-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.ndjson"$/);
    expect(res.headers['content-length']).toBeUndefined();

    let count = 0;
    let bytes = 0;
    let previous = { occurredAt: '', id: 0 };
    const found = new Map<string, unknown>();
    res.on('data', (chunk: Buffer) => (bytes += chunk.length));
    for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
      const event = JSON.parse(line) as { id: number; eventId: string; occurredAt: string; payload: unknown };
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
      if ((event as { name?: string }).name === 'test.awkward_payload') found.set(event.eventId, event.payload);
      count++;
    }
    const seconds = (performance.now() - started) / 1000;
    const memory = watch.stop();
    measured.ndjson = {
      events: count,
      mb: Math.round(bytes / 2 ** 20),
      seconds: Math.round(seconds * 100) / 100,
      eventsPerSecond: Math.round(count / seconds),
      ...memory,
    };

    expect(count).toBe(BULK + awkward.length);
    expect(Object.fromEntries(found)).toEqual(Object.fromEntries(awkward.map((e) => [e.eventId, e.payload])));
    expect(bytes).toBeGreaterThan(1.25 * BOUND_MB * 2 ** 20); // a buffered answer alone would break the bound
    expect(memory.heapGrowthMb).toBeLessThan(BOUND_MB);
    expect(memory.rssGrowthMb).toBeLessThan(BOUND_MB);
    await until(() => connectionsInUse() === 0);
  });

  it('streams every event as RFC 4180 CSV that a CSV parser reads back exactly, in flat memory', async () => {
    const url = `/events/export?format=csv&projectId=${BULK_PROJECT}`;
    const watch = watchMemory();
    const started = performance.now();
    const res = await get(url);
    expect(res.statusCode).toBe(200);
    checkHeaders(url, res);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="events-[0-9TZ-]+\.csv"$/);

    // Line by line: a payload is JSON text, in which JSON has already escaped every line break, so
    // here each record is one line (a line break inside a quoted field is csvField's unit test).
    // The records of the awkward payloads are then parsed back strictly by a real CSV parser
    // (csv-parse runs ~2 MB/s under jest's VM modules: too slow for all 75 MB within the budget).
    let count = 0;
    let header: string | undefined;
    const awkwardLines: string[] = [];
    for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
      if (header === undefined) {
        header = line;
        continue;
      }
      if (line.includes(',test.awkward_payload,')) awkwardLines.push(line);
      count++;
    }
    const seconds = (performance.now() - started) / 1000;
    const memory = watch.stop();
    measured.csv = { events: count, seconds: Math.round(seconds * 100) / 100, eventsPerSecond: Math.round(count / seconds), ...memory };

    expect(count).toBe(BULK + awkward.length);
    const records = parseCsv(`${header}\r\n${awkwardLines.join('\r\n')}\r\n`, {
      relax_quotes: false,
      relax_column_count: false,
    }) as string[][];
    expect(records[0]).toEqual(['id', 'eventId', 'name', 'occurredAt', 'createdAt', 'projectId', 'deploymentId', 'userId', 'payload']);
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
        String(BULK_PROJECT),
        '',
        '',
        expect.any(String),
      ]);
      expect(JSON.parse(fields![8]!)).toEqual(row.payload);
    }
    expect(stored.map((r) => r.payload)).toEqual(expect.arrayContaining(awkward.map((e) => e.payload)));
    expect(memory.heapGrowthMb).toBeLessThan(BOUND_MB);
    expect(memory.rssGrowthMb).toBeLessThan(BOUND_MB);
    await until(() => connectionsInUse() === 0);
  });

  it('fetches only as fast as the client reads (backpressure), and gives the connection back when the client leaves', async () => {
    const before = serverSockets.length;
    const abort = new AbortController();
    const res = await get(`/events/export?projectId=${BULK_PROJECT}`, { signal: abort.signal });
    res.on('error', () => {}); // the abort surfaces as an error on the response
    try {
      expect(res.statusCode).toBe(200);
      const socket = serverSockets[before]!;
      // Read one chunk, then stop reading: once the socket buffers are full the server stops too.
      await new Promise((resolve) => res.once('data', resolve));
      res.pause();
      let written = -1;
      await until(async () => {
        const previous = written;
        await new Promise((r) => setTimeout(r, 300));
        written = socket.bytesWritten;
        return written === previous;
      }, 10_000);
      measured.backpressure = { writtenWhilePausedMb: Math.round((written / 2 ** 20) * 10) / 10 };
      expect(written).toBeLessThan(20 * 2 ** 20); // socket buffers, not the ~85 MB export
      expect(connectionsInUse()).toBe(1); // the export's cursor stays open meanwhile
    } finally {
      abort.abort();
    }
    await until(() => connectionsInUse() === 0);
    // The connection went back clean: the pool serves the next export (and queries) normally.
    const next = await fetchText(`/events/export?format=csv&name=test.awkward_payload`);
    expect(next.status).toBe(200);
    expect(next.text.split('\r\n').filter(Boolean)).toHaveLength(1 + awkward.length);
    await until(() => connectionsInUse() === 0);
  });

  it("outlives the service's statement timeout, which PostgreSQL applies to a whole cursor, not to each fetch", async () => {
    // The same database behind an app whose statements time out after 300 ms (3 s in production).
    // PostgreSQL keeps a statement's timer running across suspended fetches of a portal: without the
    // export's own `set local statement_timeout`, this export would be cut after 300 ms.
    const db = createDb({ connectionString: svc.database.url, statementTimeoutMs: 300, applicationName: 'jest-timeout' });
    const app = createApp({ db, logger: createLogger({ level: 'silent' }), config: { AGGREGATOR_SERVICE_TOKEN: svc.token } });
    const slow = await listenLocally(app.callback());
    try {
      const url = `${slow.url}/events/export?projectId=${BULK_PROJECT}&to=2026-01-01T08:20:00Z`;
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(url, { agent: false, headers: { Authorization: `Bearer ${svc.token}` } }, resolve).on('error', reject),
      );
      expect(res.statusCode).toBe(200);
      let count = 0;
      let paused = false;
      for await (const _line of createInterface({ input: res, crlfDelay: Infinity })) {
        count++;
        if (!paused && count === 100) {
          paused = true;
          await new Promise((r) => setTimeout(r, 1_000)); // over three statement timeouts without reading
        }
      }
      expect(count).toBe(29_999); // bulk events 1 s apart from 00:00:01, `to` exclusive
    } finally {
      await slow.close();
      await db.destroy();
    }
  });

  describe('limits (an app with only the export, and tight limits)', () => {
    /** The export alone on a listening server with `limits`; its URL base and how to stop it. */
    async function limitedServer(limits: { maxConcurrent?: number; maxDurationMs?: number; idleTimeoutMs?: number }, db: Knex = svc.db) {
      const app = new Koa<RequestState>();
      app.silent = true; // the cut-off streams are the point of these tests; no console noise
      app.use(requestContext(createLogger({ level: 'silent' })));
      app.use(problemMiddleware());
      const router = new Router<RequestState>();
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
      return {
        url: (path: string) => `${server.url}${path}`,
        close: server.close,
      };
    }

    /** Reads `url`, stopping for `pauseMs` after the first chunk; how much came and whether the answer was complete. */
    async function readWithPause(url: string, pauseMs: number) {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(url, { agent: false, headers: { Authorization: `Bearer ${svc.token}` } }, resolve).on('error', reject),
      );
      let bytes = 0;
      let paused = false;
      const complete = await new Promise<boolean>((resolve) => {
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (!paused) {
            paused = true;
            res.pause();
            setTimeout(() => res.resume(), pauseMs);
          }
        });
        res.on('end', () => resolve(res.complete));
        res.on('error', () => resolve(false));
        res.on('close', () => resolve(res.complete));
      });
      return { status: res.statusCode, bytes, complete };
    }

    it('cuts off a client that stops reading, and gives the connection back', async () => {
      const server = await limitedServer({ idleTimeoutMs: 400 });
      const abort = new AbortController();
      try {
        const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
          http
            .get(
              server.url(`/events/export?projectId=${BULK_PROJECT}`),
              { agent: false, headers: { Authorization: `Bearer ${svc.token}` }, signal: abort.signal },
              resolve,
            )
            .on('error', reject),
        );
        res.on('error', () => {});
        expect(res.statusCode).toBe(200);
        await new Promise((resolve) => res.once('data', resolve));
        res.pause(); // and never again: the server side must end the export by itself
        expect(connectionsInUse()).toBe(1);
        const started = performance.now();
        await until(() => connectionsInUse() === 0);
        expect(performance.now() - started).toBeLessThan(3_000);
      } finally {
        abort.abort();
        await server.close();
      }
    });

    it('ends an export that outlives its maximum duration: a cut answer, the connection back and clean', async () => {
      // Long enough to start under a loaded machine (else it is a clean 503 before the first byte),
      // short enough for the client's pause to outlive it.
      const server = await limitedServer({ maxDurationMs: 1_500 });
      try {
        const result = await readWithPause(server.url(`/events/export?projectId=${BULK_PROJECT}`), 3_000);
        expect(result).toMatchObject({ status: 200, complete: false });
        await until(() => connectionsInUse() === 0);
        // The transaction was rolled back: the same pool (and this connection) serves the next export.
        const small = await readWithPause(server.url('/events/export?name=test.awkward_payload'), 0);
        expect(small).toMatchObject({ status: 200, complete: true });
        await until(() => connectionsInUse() === 0);
      } finally {
        await server.close();
      }
    });
  });

  it('runs at most two exports at once: a third is a 503 with Retry-After, and the slots come back', async () => {
    const url = `/events/export?projectId=${BULK_PROJECT}`;
    const aborts = [new AbortController(), new AbortController()];
    const running = await Promise.all(aborts.map((a) => get(url, { signal: a.signal })));
    for (const r of running) r.on('error', () => {});
    try {
      expect(running.map((r) => r.statusCode)).toEqual([200, 200]);
      const third = await fetchText(url);
      expect(third.status).toBe(503);
      expect(third.body.name).toBe('ServiceUnavailableError');
      expect(third.headers['retry-after']).toBe('10');
    } finally {
      for (const a of aborts) a.abort();
    }
    await until(() => connectionsInUse() === 0);
    expect((await fetchText(`/events/export?name=test.awkward_payload`)).status).toBe(200);
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
    const url = '/events/export?format=csv&name=test.awkward_payload';
    const res = await get(url);
    checkHeaders(url, res);
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
  ])('is a 400 for %s', async (_what, query, path) => {
    const res = await fetchText(`/events/export?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('ValidationError');
    expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual([path]);
    expect(connectionsInUse()).toBe(0);
  });

  it('is a 401 without the token', async () => {
    const res = await fetchText('/events/export', { token: null });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });
});
