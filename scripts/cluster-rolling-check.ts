import { randomUUID } from 'node:crypto';
import { createOutboxRepo } from '@hosting/project-service';
import { createDb, type Knex } from '@hosting/shared';
import { compareStores, type StoreComparison } from './chaos-check.js';

/**
 * The rolling-restart proof of `npm run cluster -- --rolling-check`: steady load through the
 * balancer while every replica of both services is restarted in turn, then what the clients saw
 * and what the stores hold.
 *
 * - Lifecycles: a deployment created (every other one with an Idempotency-Key, sent twice: the
 *   second answer must be the first one replayed), moved through the webhook to done or failed,
 *   or cancelled on the way. Each lifecycle knows the events it must have produced; the
 *   aggregator's store is compared with that, per deployment and event name.
 * - Reads: project lists and details, deployment lists and details, the aggregator's events and
 *   a project's activity.
 * - Streams: clients of `/deployments/stream` that reconnect with `Last-Event-ID` whenever their
 *   stream ends (a replica ends its streams when it stops); each must have received every change
 *   the database recorded during the run, once.
 *
 * A failed request is any answer other than the expected status (so any 5xx), or a request that
 * got no answer (reset, refused, timed out).
 */
export interface RestartableReplica {
  name: string;
  /** SIGTERM, its exit, started again and back in the balancer; resolves with the exit code. */
  restart(): Promise<number | null>;
}

export interface RollingCheckOptions {
  projectUrl: string;
  aggregatorUrl: string;
  projectToken: string;
  aggregatorToken: string;
  projectDbUrl: string;
  aggregatorDbUrl: string;
  /** Projects whose app secrets are known, for the webhook. */
  projects: Array<{ id: number; secret: string }>;
  projectReplicas: RestartableReplica[];
  aggregatorReplicas: RestartableReplica[];
  /** The load runs at least this long, and until every replica was restarted once. */
  durationMs: number;
  lifecycleClients?: number;
  readClients?: number;
  streamClients?: number;
  log?: (line: string) => void;
}

export interface RollingCheckReport {
  seconds: number;
  requests: number;
  failed: number;
  /** The first failures, as seen by the client. */
  failures: string[];
  lifecycles: number;
  events: { expected: number; stored: number; duplicated: number; lost: number };
  /** The outbox against the aggregator's store, every event of the run (chaos-check's comparison). */
  stores: StoreComparison;
  streams: { clients: number; reconnects: number; changes: number; missed: number; duplicated: number; resets: number };
  restarts: { done: number; exitedNonZero: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Expected = Map<string, number>;
const TERMINAL_EVENT: Record<string, string> = {
  done: 'deployment.succeeded',
  failed: 'deployment.failed',
  cancelled: 'deployment.cancelled',
};

export async function runRollingCheck(options: RollingCheckOptions): Promise<RollingCheckReport> {
  const log = options.log ?? (() => undefined);
  if (options.projects.length === 0) throw new Error('the rolling check needs the seeded projects (seeds/projects.json)');
  const projectDb = createDb({ connectionString: options.projectDbUrl, pool: { max: 2 } });
  const aggregatorDb = createDb({ connectionString: options.aggregatorDbUrl, pool: { max: 2 } });
  try {
    return await run(options, log, projectDb, aggregatorDb);
  } finally {
    await Promise.all([projectDb.destroy(), aggregatorDb.destroy()]);
  }
}

async function run(options: RollingCheckOptions, log: (line: string) => void, projectDb: Knex, aggregatorDb: Knex) {
  let requests = 0;
  const failures: string[] = [];
  let failed = 0;
  const fail = (what: string) => {
    failed++;
    if (failures.length < 20) failures.push(what);
  };
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!;

  async function call(
    base: 'project' | 'aggregator',
    method: string,
    path: string,
    expected: number[],
    init: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; headers: Headers; body: unknown } | undefined> {
    requests++;
    const url = (base === 'project' ? options.projectUrl : options.aggregatorUrl) + path;
    const token = init.token ?? (base === 'project' ? options.projectToken : options.aggregatorToken);
    try {
      const res = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(20_000),
      });
      const text = await res.text();
      if (!expected.includes(res.status)) {
        fail(`${method} ${base} ${path}: ${res.status} ${text.slice(0, 200)}`);
        return undefined;
      }
      return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      fail(`${method} ${base} ${path}: ${(err as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
      return undefined;
    }
  }

  // Streams first, and the position they start from, before any change of the run is made.
  const streams = Array.from({ length: options.streamClients ?? 2 }, () => streamClient(options, fail, () => requests++));
  await Promise.all(streams.map((s) => s.connected));
  const [top] = await projectDb('deployment_changes').max<Array<{ max: string | number | null }>>('id as max');
  const baseline = Number(top?.max ?? 0);
  streams.forEach((s) => s.startFrom(baseline));

  const lifecycles: Array<{ id: number; expected: Expected; certain: boolean }> = [];
  let stopLoad = false;
  let lastDeployment: number | undefined;
  const pause = () => sleep(20);

  async function lifecycleClient(): Promise<void> {
    let n = 0;
    while (!stopLoad) {
      n++;
      const project = pick(options.projects);
      const key = n % 2 === 0 ? randomUUID() : undefined;
      const headers = key ? { 'idempotency-key': key } : undefined;
      const created = await call('project', 'POST', `/projects/${project.id}/deployments`, [201], { headers });
      await pause();
      if (!created) continue;
      const id = (created.body as { id: number }).id;
      lastDeployment = id;
      const expected: Expected = new Map([['deployment.created', 1]]);
      const lifecycle = { id, expected, certain: true };
      lifecycles.push(lifecycle);
      const add = (name: string) => expected.set(name, (expected.get(name) ?? 0) + 1);
      if (key) {
        const again = await call('project', 'POST', `/projects/${project.id}/deployments`, [201], { headers });
        await pause();
        if (again && ((again.body as { id: number }).id !== id || again.headers.get('idempotent-replayed') !== 'true'))
          fail(`POST /projects/${project.id}/deployments with the same Idempotency-Key: not the first answer replayed`);
      }
      const r = random();
      const steps =
        r < 0.6
          ? ['building', 'deploying', 'done']
          : r < 0.75
            ? ['building', 'failed']
            : ['building', 'deploying'].slice(0, Math.floor(random() * 3));
      const cancel = r >= 0.75;
      for (const status of steps) {
        const answer = await call('project', 'POST', '/deployment/webhook', [200], { token: project.secret, body: { id, status } });
        await pause();
        if (!answer) {
          lifecycle.certain = false;
          break;
        }
        add('deployment.status_changed');
        if (TERMINAL_EVENT[status]) add(TERMINAL_EVENT[status]);
      }
      if (cancel && lifecycle.certain) {
        const answer = await call('project', 'POST', `/deployments/${id}/cancel`, [200], { body: {} });
        await pause();
        if (answer) {
          add('deployment.status_changed');
          add('deployment.cancelled');
        } else lifecycle.certain = false;
      }
    }
  }

  async function readClient(): Promise<void> {
    while (!stopLoad) {
      const project = pick(options.projects);
      await call('project', 'GET', '/projects?page=1', [200]);
      await call('project', 'GET', `/projects/${project.id}`, [200]);
      await call('project', 'GET', `/deployments?projectId=${project.id}`, [200]);
      if (lastDeployment !== undefined) await call('project', 'GET', `/deployments/${lastDeployment}`, [200]);
      await call('aggregator', 'GET', '/events?limit=5', [200]);
      await call('aggregator', 'GET', `/projects/${project.id}/activity`, [200]);
      await pause();
    }
  }

  const started = Date.now();
  const load = [
    ...Array.from({ length: options.lifecycleClients ?? 4 }, lifecycleClient),
    ...Array.from({ length: options.readClients ?? 2 }, readClient),
  ];

  // Restarts: one replica of each service at a time (the other replicas carry the load), in
  // rounds, until the duration is over; at least one full round.
  let done = 0;
  let exitedNonZero = 0;
  await sleep(2_000);
  const rounds = Math.max(options.projectReplicas.length, options.aggregatorReplicas.length);
  let round = 0;
  do {
    round++;
    for (let i = 0; i < rounds; i++) {
      const turn = [options.projectReplicas[i], options.aggregatorReplicas[i]].filter((r): r is RestartableReplica => r !== undefined);
      log(`round ${round}: restarting ${turn.map((r) => r.name).join(' and ')} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      const codes = await Promise.all(turn.map((r) => r.restart()));
      log(`round ${round}: ${turn.map((r) => r.name).join(' and ')} back (${((Date.now() - started) / 1000).toFixed(2)} s)`);
      done += codes.length;
      exitedNonZero += codes.filter((code) => code !== 0).length;
    }
  } while (Date.now() - started < options.durationMs);
  stopLoad = true;
  await Promise.all(load);
  const seconds = (Date.now() - started) / 1000;
  log(`load stopped after ${seconds.toFixed(0)} s: ${requests} requests, ${failed} failed; waiting for the outbox and the streams`);

  // Every event delivered, every stream caught up with the last change.
  const outbox = createOutboxRepo(projectDb);
  const deadline = Date.now() + 60_000;
  while ((await outbox.status()).undelivered > 0 && Date.now() < deadline) await sleep(200);
  const changeRows = await projectDb('deployment_changes')
    .where('id', '>', baseline)
    .orderBy('id')
    .select<Array<{ id: string | number; changed_at: Date }>>('id', 'changed_at');
  const changes = changeRows.map((r) => Number(r.id));
  const changeAt = new Map(changeRows.map((r) => [Number(r.id), r.changed_at.getTime()]));
  const ms = (t: number | undefined) => (t === undefined ? '-' : `${((t - started) / 1000).toFixed(2)} s`);
  const last = changes.at(-1) ?? baseline;
  while (streams.some((s) => s.lastId < last) && Date.now() < deadline) await sleep(100);
  await Promise.all(streams.map((s) => s.close()));

  // Each lifecycle's events against the store, per deployment and name.
  const certain = lifecycles.filter((l) => l.certain);
  const rows = await aggregatorDb('events')
    .select('deployment_id', 'name')
    .count<Array<{ deployment_id: number; name: string; count: string | number }>>('* as count')
    .whereIn(
      'deployment_id',
      certain.map((l) => l.id),
    )
    .andWhere('name', 'like', 'deployment.%')
    .groupBy('deployment_id', 'name');
  const stored = new Map(rows.map((r) => [`${r.deployment_id} ${r.name}`, Number(r.count)]));
  const events = { expected: 0, stored: 0, duplicated: 0, lost: 0 };
  for (const lifecycle of certain) {
    for (const [name, count] of lifecycle.expected) {
      const got = stored.get(`${lifecycle.id} ${name}`) ?? 0;
      stored.delete(`${lifecycle.id} ${name}`);
      events.expected += count;
      events.stored += got;
      events.duplicated += Math.max(0, got - count);
      events.lost += Math.max(0, count - got);
    }
  }
  for (const unexpected of stored.values()) {
    events.stored += unexpected;
    events.duplicated += unexpected;
  }

  const streamFigures = { clients: streams.length, reconnects: 0, changes: changes.length, missed: 0, duplicated: 0, resets: 0 };
  for (const s of streams) {
    streamFigures.reconnects += s.reconnects;
    const missed = changes.filter((id) => !s.received.has(id));
    streamFigures.missed += missed.length;
    for (const id of missed) {
      const during = s.connections.find((c) => c.at <= (changeAt.get(id) ?? 0) && (c.endedAt ?? Infinity) >= (changeAt.get(id) ?? 0));
      failures.push(
        `stream client missed change ${id} (changed ${ms(changeAt.get(id))}; ${id - 1} came ${ms(s.receivedAt.get(id - 1))}, ` +
          `${id + 1} came ${ms(s.receivedAt.get(id + 1))}; resets ${s.resets}): ` +
          `connections ${s.connections.map((c) => `[${ms(c.at)} from ${c.from} … ${ms(c.endedAt)} last ${c.lastSeen}]`).join(' ')}` +
          (during ? '' : ' (none open when it was written)'),
      );
    }
    streamFigures.duplicated += s.duplicated;
    streamFigures.resets += s.resets;
  }
  return {
    seconds,
    requests,
    failed,
    failures,
    lifecycles: lifecycles.length,
    events,
    stores: await compareStores(projectDb, aggregatorDb),
    streams: streamFigures,
    restarts: { done, exitedNonZero },
  };
}

/**
 * One client of `/deployments/stream`: reads frames, and when the stream ends (its replica stops)
 * or breaks, opens it again with the last id it saw as `Last-Event-ID`.
 */
function streamClient(options: RollingCheckOptions, fail: (what: string) => void, counted: () => void) {
  const received = new Set<number>();
  /** When each id came, and each (re)connect with its Last-Event-ID: what a missed id is explained by. */
  const receivedAt = new Map<number, number>();
  const connections: Array<{ at: number; from: number; endedAt?: number; lastSeen?: number }> = [];
  let lastId = 0;
  let reconnects = 0;
  let duplicated = 0;
  let resets = 0;
  let closed = false;
  let controller: AbortController | undefined;
  let connectedOnce: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => (connectedOnce = resolve));

  const loop = (async () => {
    let first = true;
    while (!closed) {
      if (!first) {
        reconnects++;
        await sleep(100);
      }
      first = false;
      controller = new AbortController();
      counted();
      try {
        const res = await fetch(`${options.projectUrl}/deployments/stream`, {
          headers: {
            authorization: `Bearer ${options.projectToken}`,
            accept: 'text/event-stream',
            ...(lastId > 0 ? { 'last-event-id': String(lastId) } : {}),
          },
          signal: controller.signal,
        });
        if (res.status !== 200 || !res.body) {
          fail(`GET /deployments/stream: ${res.status} ${(await res.text()).slice(0, 200)}`);
          continue;
        }
        connectedOnce();
        const connection: (typeof connections)[number] = { at: Date.now(), from: lastId };
        connections.push(connection);
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of res.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = new Map<string, string>();
            for (const line of frame.split('\n')) {
              const colon = line.indexOf(':');
              if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
            }
            const id = fields.has('id') ? Number(fields.get('id')) : undefined;
            if (fields.get('event') === 'deployment' && id !== undefined) {
              if (received.has(id)) duplicated++;
              received.add(id);
              receivedAt.set(id, Date.now());
            }
            if (fields.get('event') === 'reset') resets++;
            if (id !== undefined) lastId = id;
          }
        }
        connection.endedAt = Date.now();
        connection.lastSeen = lastId;
      } catch (err) {
        if (closed) break;
        const cause = (err as { cause?: { code?: string } }).cause;
        fail(`GET /deployments/stream: ${(err as Error).message}${cause?.code ? ` (${cause.code})` : ''}`);
      }
    }
  })();

  return {
    connected,
    received,
    receivedAt,
    connections,
    get lastId() {
      return lastId;
    },
    get reconnects() {
      return reconnects;
    },
    get duplicated() {
      return duplicated;
    },
    get resets() {
      return resets;
    },
    /** Where the client resumes if its stream ends before its first frame: the run's first position. */
    startFrom(id: number) {
      if (lastId === 0) lastId = id;
    },
    async close() {
      closed = true;
      controller?.abort();
      await loop;
    },
  };
}

export function rollingCheckPassed(r: RollingCheckReport): boolean {
  return (
    r.failed === 0 &&
    r.events.lost === 0 &&
    r.events.duplicated === 0 &&
    r.stores.lost === 0 &&
    r.stores.duplicated === 0 &&
    r.streams.missed === 0 &&
    r.streams.duplicated === 0 &&
    r.restarts.exitedNonZero === 0 &&
    r.restarts.done > 0
  );
}

/** The figures, as one line (the last the command prints); failures first, one line each. */
export function formatRollingCheck(r: RollingCheckReport): string {
  const line =
    `rolling check: ${r.seconds.toFixed(0)} s, ${r.restarts.done} restarts (${r.restarts.exitedNonZero} not exit 0), ` +
    `requests ${r.requests}, failed ${r.failed}, lifecycles ${r.lifecycles}, ` +
    `events expected ${r.events.expected} stored ${r.events.stored} duplicated ${r.events.duplicated} lost ${r.events.lost} ` +
    `(outbox ${r.stores.expected}, lost ${r.stores.lost}, duplicated ${r.stores.duplicated}), ` +
    `stream changes ${r.streams.changes} × ${r.streams.clients} clients, missed ${r.streams.missed}, duplicated ${r.streams.duplicated}, ` +
    `reconnects ${r.streams.reconnects}: ${rollingCheckPassed(r) ? 'OK' : 'FAILED'}`;
  return [...r.failures.map((f) => `  failed: ${f}`), line].join('\n');
}
