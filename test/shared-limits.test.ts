import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { renderHaproxyConfig } from '../scripts/haproxy-config.js';
import { findTool, spawnGroup, stopGroup } from './cluster-tools.js';
import { root, waitUntilUp } from './processes.js';

/**
 * The failed-authentication and per-credential limits hold for the cluster (issue 13): two
 * project-service processes behind a real HAProxy (ops/haproxy/haproxy.cfg with only its addresses
 * changed), one database. Wrong tokens and then one credential's requests go through the balancer,
 * which spreads them over both replicas (each replica's /metrics shows its share); the limits trip
 * at the configured counts, not at twice them. The same run with RATE_LIMIT_STORE=memory admits
 * about twice as much (each process counts on its own): it is run too, so the check is seen to fail
 * without the shared store.
 */
const haproxy = findTool('haproxy');
if (!haproxy)
  console.warn(
    'test/shared-limits.test.ts: haproxy is not installed (apt-get install haproxy); skipping the shared-limits run behind HAProxy',
  );
const run = haproxy ? it : it.skip;

const token = 'shared-limits-test-token-0123456789';
const FAILURES = 10;
const PER_CREDENTIAL = 20;
const shipped = path.join(root, 'ops/haproxy/haproxy.cfg');

interface Outcome {
  /** Statuses of the wrong-token requests, in order. */
  failures: number[];
  /** Statuses of one credential's requests, in order. */
  requests: number[];
  /** After the failures: a request with the right token (a credential that verifies is never refused). */
  goodAfterFailures: number;
  /** 401 and 429 answers each replica gave (its own /metrics). */
  perReplica: Array<{ refused: number; served: number }>;
}

let database: TestDatabase | undefined;
const children: ChildProcess[] = [];
let dir: string | undefined;
afterAll(async () => {
  await Promise.all(children.map((c) => stopGroup(c)));
  if (dir) rmSync(dir, { recursive: true, force: true });
  await database?.drop();
});

/** Counts of a status class in a replica's `http_request_duration_seconds_count` series. */
async function answered(port: number, status: (s: number) => boolean): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  let total = 0;
  for (const [, code, count] of text.matchAll(/^http_request_duration_seconds_count\{[^}]*status="(\d+)"[^}]*\} (\d+)$/gm))
    if (status(Number(code))) total += Number(count);
  return total;
}

/** Two replicas with RATE_LIMIT_STORE=`store` behind HAProxy, on a fresh database; the requests above through the balancer. */
async function clusterRun(store: 'postgres' | 'memory'): Promise<Outcome> {
  const db = await createTestDatabase('project');
  database = db;
  const [front, aggFront, ...replicaPorts] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const replicas = replicaPorts.map((port) =>
    spawnGroup(process.execPath, [path.join(root, 'project-service/dist/src/main.js')], {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      PROJECT_SERVICE_TOKEN: token,
      AGGREGATOR_SERVICE_TOKEN: token,
      PUBLIC_BASE_URL: 'http://localhost:3000',
      PROJECT_DATABASE_URL: db.url,
      PROJECT_SERVICE_PORT: String(port),
      PROJECT_SERVICE_HOST: '127.0.0.1',
      OUTBOX_RELAY_ENABLED: 'false',
      TRUST_PROXY: 'true',
      RATE_LIMIT_STORE: store,
      RATE_LIMIT_AUTH_FAILURES: String(FAILURES),
      RATE_LIMIT_AUTH_WINDOW_S: '600',
      RATE_LIMIT_PER_CREDENTIAL: String(PER_CREDENTIAL),
      RATE_LIMIT_PER_CREDENTIAL_WINDOW_S: '600',
    }),
  );
  children.push(...replicas);
  await Promise.all(replicaPorts.map((port) => waitUntilUp(port)));

  dir ??= mkdtempSync(path.join(tmpdir(), 'shared-limits-'));
  const config = path.join(dir, `haproxy-${store}.cfg`);
  writeFileSync(
    config,
    renderHaproxyConfig(readFileSync(shipped, 'utf8'), {
      project: { bind: `127.0.0.1:${front}`, servers: replicaPorts.map((port) => `127.0.0.1:${port}`) },
      // No aggregator runs here: its backend checks a replica, so that HAProxy has nothing to warn about.
      aggregator: { bind: `127.0.0.1:${aggFront}`, servers: [`127.0.0.1:${replicaPorts[0]}`] },
    }),
  );
  const balancer = spawnGroup(haproxy!, ['-db', '-f', config], {});
  children.push(balancer);
  await waitUntilUp(front);

  const through = async (bearer: string) => {
    const res = await fetch(`http://127.0.0.1:${front}/projects`, { headers: { authorization: `Bearer ${bearer}` } });
    await res.arrayBuffer();
    return res.status;
  };
  const failures: number[] = [];
  for (let i = 0; i < 3 * FAILURES; i++) failures.push(await through('wrong-token-of-a-guesser'));
  const goodAfterFailures = await through(token);
  const requests: number[] = [];
  for (let i = 0; i < 2 * PER_CREDENTIAL; i++) requests.push(await through(token));

  const perReplica = await Promise.all(
    replicaPorts.map(async (port) => ({
      refused: await answered(port, (s) => s === 401 || s === 429),
      served: await answered(port, (s) => s === 200),
    })),
  );
  await Promise.all([...replicas, balancer].map((c) => stopGroup(c)));
  await db.drop();
  database = undefined;
  return { failures, requests, goodAfterFailures, perReplica };
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe('limits every replica shares, behind a real HAProxy', () => {
  run(
    'RATE_LIMIT_STORE=postgres: failures spread over two replicas trip the limit at RATE_LIMIT_AUTH_FAILURES, one credential at RATE_LIMIT_PER_CREDENTIAL',
    async () => {
      const outcome = await clusterRun('postgres');
      if (process.env.CLUSTER_REPORT) process.stdout.write(`shared limits (postgres): ${JSON.stringify(outcome)}\n`);
      // Both replicas answered their share of each kind.
      for (const replica of outcome.perReplica) {
        expect(replica.refused).toBeGreaterThan(0);
        expect(replica.served).toBeGreaterThan(0);
      }
      expect(outcome.failures).toEqual([...Array<number>(FAILURES).fill(401), ...Array<number>(2 * FAILURES).fill(429)]);
      expect(outcome.goodAfterFailures).toBe(200);
      // The good request above was the credential's first; then exactly the rest of its budget.
      expect(outcome.requests).toEqual([...Array<number>(PER_CREDENTIAL - 1).fill(200), ...Array<number>(PER_CREDENTIAL + 1).fill(429)]);
    },
    60_000,
  );

  run(
    'RATE_LIMIT_STORE=memory: the same run admits about twice the budgets (each process counts on its own), so the check above fails without the shared store',
    async () => {
      const outcome = await clusterRun('memory');
      if (process.env.CLUSTER_REPORT) process.stdout.write(`shared limits (memory): ${JSON.stringify(outcome)}\n`);
      expect(count(outcome.failures, 401)).toBeGreaterThan(FAILURES);
      expect(count(outcome.requests, 200) + 1).toBeGreaterThan(PER_CREDENTIAL);
    },
    60_000,
  );
});
