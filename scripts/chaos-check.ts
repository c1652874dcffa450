import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createAggregatorService,
  loadConfig as loadAggregatorConfig,
  migrations as aggregatorMigrations,
} from '@hosting/aggregator-service';
import {
  createAggregatorClient,
  createOutboxRelay,
  createProjectService,
  loadConfig as loadProjectConfig,
  createOutboxRepo,
  migrations as projectMigrations,
  type OutboxRelay,
} from '@hosting/project-service';
import { createDb, createLogger, runMigrations, sha256, type Knex } from '@hosting/shared';
import { startChaosProxy, type ChaosProxy } from '@hosting/shared/testing';

/**
 * The delivery proof, shared by the jest suite and `npm run chaos`: the real project-service and
 * aggregator apps over real HTTP, a fault-injecting proxy between the relay(s) and the aggregator,
 * N actions through the project API, optionally the aggregator stopped for a while in the middle.
 * Then it compares the outbox (what was promised) with the aggregator's store (what arrived).
 */
export interface ChaosCheckOptions {
  projectDbUrl: string;
  aggregatorDbUrl: string;
  actions: number;
  concurrency?: number;
  failRate?: number;
  resetRate?: number;
  latencyMs?: [number, number];
  /** Stop the aggregator once this many actions were made, for `downMs`. */
  downAfterActions?: number;
  downMs?: number;
  relays?: number;
  /** Events per relay batch; small batches mean more requests, so more of them meet a fault. */
  batchSize?: number;
  /** How often each relay polls the outbox besides waking on NOTIFY. Default 100 ms. */
  pollMs?: number;
  /** Whether the wait for the outbox to drain also pokes the relays (default), or leaves them to NOTIFY and their poll. */
  pokeWhileDraining?: boolean;
  drainTimeoutMs?: number;
  seed?: number;
  log?: (line: string) => void;
}

export interface ChaosReport extends StoreComparison {
  actions: number;
  failedActions: number;
  /** Times one event was sent to the aggregator, beyond the first (at-least-once on the wire). */
  resent: number;
  proxy: ChaosProxy['stats'];
  drainedInMs: number;
}

const silent = createLogger({ level: 'silent' });

function listenOn(app: { callback(): http.RequestListener }, port = 0): Promise<http.Server> {
  const server = http.createServer(app.callback());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface StoreComparison {
  expected: number;
  stored: number;
  lost: number;
  extra: number;
  duplicated: number;
  lagMs: { p50: number; p99: number; max: number };
}

/** What the outbox promised against what the aggregator holds, and how long each event took. */
export async function compareStores(projectDb: Knex, aggregatorDb: Knex): Promise<StoreComparison> {
  const expected = await projectDb('outbox').select<Array<{ event_id: string; occurred_at: Date }>>('event_id', 'occurred_at');
  const stored = await aggregatorDb('events').select<Array<{ event_id: string; created_at: Date }>>('event_id', 'created_at');
  const storedAt = new Map(stored.map((e) => [e.event_id, e.created_at]));
  const expectedIds = new Set(expected.map((e) => e.event_id));
  const lags = expected
    .filter((e) => storedAt.has(e.event_id))
    .map((e) => storedAt.get(e.event_id)!.getTime() - e.occurred_at.getTime())
    .sort((a, b) => a - b);
  const counts = await aggregatorDb('events').select<Array<{ total: number; distinct: number }>>(
    aggregatorDb.raw('count(*)::int as total, count(distinct event_id)::int as distinct'), // pg sends bigint counts as text
  );
  const { total, distinct } = counts[0]!;
  return {
    expected: expectedIds.size,
    stored: storedAt.size,
    lost: [...expectedIds].filter((id) => !storedAt.has(id)).length,
    extra: [...storedAt.keys()].filter((id) => !expectedIds.has(id)).length,
    duplicated: total - distinct,
    lagMs: { p50: percentile(lags, 50), p99: percentile(lags, 99), max: lags.at(-1) ?? 0 },
  };
}

export async function runChaosCheck(options: ChaosCheckOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const projectDb = createDb({ connectionString: options.projectDbUrl, pool: { max: 12 } });
  const aggregatorDb = createDb({ connectionString: options.aggregatorDbUrl, pool: { max: 8 } });
  const servers: http.Server[] = [];
  const relays: OutboxRelay[] = [];
  let proxy: ChaosProxy | undefined;
  let aggregatorServer: http.Server | undefined;
  try {
    await runMigrations(projectDb, projectMigrations);
    await runMigrations(aggregatorDb, aggregatorMigrations);

    const projectToken = randomBytes(18).toString('base64url');
    const aggregatorToken = randomBytes(18).toString('base64url');
    const aggregatorConfig = loadAggregatorConfig({
      AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
      AGGREGATOR_DATABASE_URL: options.aggregatorDbUrl,
    });
    const aggregatorApp = createAggregatorService(aggregatorConfig, { db: aggregatorDb, logger: silent }).app;
    aggregatorServer = await listenOn(aggregatorApp);
    const aggregatorPort = (aggregatorServer.address() as AddressInfo).port;

    const sent = new Map<string, number>();
    proxy = await startChaosProxy(`http://127.0.0.1:${aggregatorPort}`, {
      failRate: options.failRate ?? 0,
      resetRate: options.resetRate ?? 0,
      latencyMs: options.latencyMs ?? [0, 0],
      seed: options.seed ?? 7,
      inspect: (body) => {
        for (const e of JSON.parse(body.toString()) as Array<{ eventId: string }>) sent.set(e.eventId, (sent.get(e.eventId) ?? 0) + 1);
      },
    });

    // The relays under test deliver through the proxy, with short timings: the service's own stays unstarted.
    const projectConfig = loadProjectConfig({
      PROJECT_SERVICE_TOKEN: projectToken,
      PROJECT_DATABASE_URL: options.projectDbUrl,
      AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
      AGGREGATOR_URL: proxy.url,
      AGGREGATOR_TIMEOUT_MS: '2000',
      PUBLIC_DOMAIN: 'chaos.test',
      OUTBOX_BATCH_SIZE: String(options.batchSize ?? 100),
      OUTBOX_LEASE_MS: '3000',
      OUTBOX_POLL_MS: String(options.pollMs ?? 100),
      OUTBOX_BACKOFF_BASE_MS: '20',
      OUTBOX_BACKOFF_CAP_MS: '500',
    });
    const projectServer = await listenOn(createProjectService(projectConfig, { db: projectDb, logger: silent }).app);
    servers.push(projectServer);
    const base = `http://127.0.0.1:${(projectServer.address() as AddressInfo).port}`;

    for (let i = 0; i < (options.relays ?? 1); i++) {
      const relay = createOutboxRelay({
        outbox: createOutboxRepo(projectDb),
        client: createAggregatorClient({
          baseUrl: projectConfig.AGGREGATOR_URL,
          token: projectConfig.AGGREGATOR_SERVICE_TOKEN,
          timeoutMs: projectConfig.AGGREGATOR_TIMEOUT_MS,
        }),
        logger: silent,
        config: projectConfig,
      });
      relay.start();
      relays.push(relay);
    }

    // The world: one user, a handful of projects with known app secrets.
    const [user] = await projectDb('users')
      .insert({ email: `chaos-${Date.now()}@example.com`, username: 'chaos' })
      .returning('id');
    const projects: Array<{ id: number; secret: string }> = [];
    for (let i = 0; i < 8; i++) {
      const secret = randomBytes(24).toString('base64url');
      const [row] = await projectDb('projects')
        .insert({ name: `chaos-${i}`, user_id: user!.id, app_secret_sha256: sha256(secret) })
        .returning('id');
      projects.push({ id: row!.id, secret });
    }

    // The actions: create deployments, move them forward through the webhook, cancel some.
    let seed = options.seed ?? 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const ongoing: Array<{ id: number; status: string; project: { id: number; secret: string } }> = [];
    const NEXT: Record<string, string[]> = {
      pending: ['building', 'done', 'failed'],
      building: ['deploying', 'failed'],
      deploying: ['done', 'failed'],
    };
    let made = 0;
    let failed = 0;
    let down: Promise<void> | undefined;

    const act = async (): Promise<void> => {
      const r = random();
      const target = ongoing.length > 0 && r >= 0.4 ? ongoing.splice(Math.floor(random() * ongoing.length), 1)[0]! : undefined;
      let res: Response;
      if (!target) {
        const project = projects[Math.floor(random() * projects.length)]!;
        res = await fetch(`${base}/projects/${project.id}/deployment`, {
          method: 'POST',
          headers: { authorization: `Bearer ${projectToken}` },
        });
        if (res.ok) ongoing.push({ id: ((await res.json()) as { id: number }).id, status: 'pending', project });
      } else if (r > 0.9) {
        res = await fetch(`${base}/deployments/${target.id}/cancel`, {
          method: 'POST',
          headers: { authorization: `Bearer ${projectToken}` },
        });
      } else {
        const choices = NEXT[target.status]!;
        const status = choices[Math.floor(random() * choices.length)]!;
        res = await fetch(`${base}/deployment/webhook`, {
          method: 'POST',
          headers: { authorization: `Bearer ${target.project.secret}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id: target.id, status }),
        });
        if (res.ok && NEXT[status]) ongoing.push({ ...target, status });
      }
      if (!res.ok) failed++;
      await res.arrayBuffer().catch(() => undefined);
    };

    const concurrency = options.concurrency ?? 8;
    const workers = Array.from({ length: concurrency }, async () => {
      while (made < options.actions) {
        made++;
        if (options.downAfterActions !== undefined && made === options.downAfterActions && !down) {
          down = (async () => {
            log(`aggregator down for ${(options.downMs ?? 0) / 1000} s after ${made} actions`);
            await closeServer(aggregatorServer!);
            await new Promise((r) => setTimeout(r, options.downMs ?? 0));
            aggregatorServer = await listenOn(aggregatorApp, aggregatorPort);
            log('aggregator back');
          })();
        }
        await act();
      }
    });
    await Promise.all(workers);
    log(`${made} actions made (${failed} not 2xx)`);
    await down;

    // Wait for the outbox to drain.
    const outbox = createOutboxRepo(projectDb);
    const started = Date.now();
    const deadline = started + (options.drainTimeoutMs ?? 60_000);
    while ((await outbox.status()).undelivered > 0 && Date.now() < deadline) {
      if (options.pokeWhileDraining !== false) relays.forEach((r) => r.poke());
      await new Promise((r) => setTimeout(r, 100));
    }
    const drainedInMs = Date.now() - started;

    const comparison = await compareStores(projectDb, aggregatorDb);
    return {
      actions: made,
      failedActions: failed,
      ...comparison,
      resent: [...sent.values()].reduce((sum, n) => sum + n - 1, 0),
      proxy: { ...proxy.stats },
      drainedInMs,
    };
  } finally {
    await Promise.all(relays.map((r) => r.stop()));
    await proxy?.close();
    const open = [...servers, aggregatorServer].filter((s): s is http.Server => s?.listening === true);
    await Promise.all(open.map(closeServer));
    await projectDb.destroy();
    await aggregatorDb.destroy();
  }
}

/** For `npm run chaos` and tests: a short, human summary. */
export function formatReport(r: ChaosReport): string {
  return [
    `actions:     ${r.actions} (${r.failedActions} not 2xx)`,
    `expected:    ${r.expected} events (outbox)`,
    `stored:      ${r.stored} events (aggregator)`,
    `lost:        ${r.lost}`,
    `extra:       ${r.extra}`,
    `duplicated:  ${r.duplicated}`,
    `resent:      ${r.resent} (deliveries of an event after a failed or unanswered attempt; stored once all the same)`,
    `lag:         p50 ${r.lagMs.p50} ms, p99 ${r.lagMs.p99} ms, max ${r.lagMs.max} ms (action → stored)`,
    `proxy:       ${r.proxy.requests} requests, ${r.proxy.failed} answered 500, ${r.proxy.reset} reset`,
    `drained in:  ${r.drainedInMs} ms after the last action`,
  ].join('\n');
}
