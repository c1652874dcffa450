import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@hosting/shared';
import { drainDelayMs, healthChecks } from '../scripts/haproxy-config.js';
import { findTool } from './cluster-tools.js';
import { connectionRefused, processTree, root, running, survivors } from './processes.js';

/**
 * `npm run cluster` as a user runs it (the launcher in a process group of its own, on free ports
 * and a data folder of its own): the layout it prints, the tokens working through HAProxy, a
 * replica killed and started again by the supervisor, Ctrl-C and kill -9 of the group leaving
 * nothing behind, and a short rolling check (every replica restarted under load) with zero loss.
 */
const haproxy = findTool('haproxy');
if (!haproxy)
  console.warn(
    'test/cluster.test.ts: haproxy is not installed (apt-get update && apt-get install -y haproxy); skipping the npm run cluster tests',
  );
const run = haproxy ? it : it.skip;

it('the drain the cluster gives its replicas outlasts the time HAProxy takes to take one out', () => {
  const checks = healthChecks(readFileSync(path.join(root, 'ops/haproxy/haproxy.cfg'), 'utf8'));
  expect(checks).toEqual({ interMs: 1_000, fall: 2, rise: 2, timeoutMs: 1_000 });
  expect(drainDelayMs(checks)).toBeGreaterThan(checks.interMs * checks.fall + checks.timeoutMs);
});

const dataDir = path.join(os.tmpdir(), `hosting-cluster-test-${process.pid}`);
let ports: { postgres: number; project: number; aggregator: number };
const seen = new Set<number>();
afterAll(() => {
  for (const pid of seen) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

function startCluster(args: string[] = []) {
  const child = spawn(process.execPath, [path.join(root, 'scripts', 'launch.mjs'), 'cluster', ...args], {
    cwd: root,
    detached: true,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(ports.postgres),
      PROJECT_SERVICE_PORT: String(ports.project),
      AGGREGATOR_SERVICE_PORT: String(ports.aggregator),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const remember = () => {
    if (running(child.pid!)) for (const pid of processTree(child.pid!)) seen.add(pid);
  };
  return {
    child,
    exited,
    out: () => out,
    /** Every process the cluster started so far (the services, HAProxy, the database). */
    tree: () => {
      remember();
      return [...seen];
    },
    async waitFor(text: string | RegExp, ms = 90_000): Promise<boolean> {
      const deadline = Date.now() + ms;
      const has = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      while (!has() && Date.now() < deadline && child.exitCode === null) {
        remember();
        await new Promise((r) => setTimeout(r, 100));
      }
      remember();
      return has();
    },
  };
}

/** The printed layout: each replica's name, port and pid. */
function layout(out: string) {
  return [...out.matchAll(/→ (\S+)\s+127\.0\.0\.1:(\d+)\s+pid (\d+)/g)].map((m) => ({
    name: m[1]!,
    port: Number(m[2]),
    pid: Number(m[3]),
  }));
}

run(
  'npm run cluster: the layout, the tokens through HAProxy, a killed replica started again; Ctrl-C stops everything with 0, nothing left',
  async () => {
    ports = { postgres: await freePort(), project: await freePort(), aggregator: await freePort() };
    const cluster = startCluster();
    expect(await cluster.waitFor('Ctrl-C stops everything')).toBe(true);
    const out = cluster.out();
    expect(out).toMatch(/npm run cluster: applying migrations: done in/);
    const replicas = layout(out);
    expect(replicas.map((r) => r.name)).toEqual(['project-service-1', 'project-service-2', 'aggregator-service-1', 'aggregator-service-2']);
    expect(new Set(replicas.map((r) => r.port)).size).toBe(4);
    expect(out).toMatch(/each replica drains 4 s on SIGTERM/);

    const token = /project-service\s+\S+\s+token: (\S+)/.exec(out)![1]!;
    const aggregatorToken = /aggregator-service\s+\S+\s+token: (\S+)/.exec(out)![1]!;
    const list = await fetch(`http://127.0.0.1:${ports.project}/projects?page=1`, { headers: { authorization: `Bearer ${token}` } });
    expect(list.status).toBe(200);
    const events = await fetch(`http://127.0.0.1:${ports.aggregator}/events?limit=5`, {
      headers: { authorization: `Bearer ${aggregatorToken}` },
    });
    expect(events.status).toBe(200);

    // A replica that dies is started again, on its port, and the balancer keeps answering meanwhile.
    process.kill(replicas[0]!.pid, 'SIGKILL');
    expect(await cluster.waitFor(/project-service-1 exited \(SIGKILL\); starting it again in 1 s/, 10_000)).toBe(true);
    const back = Date.now() + 20_000;
    let answered = false;
    while (!answered && Date.now() < back) {
      answered = await fetch(`http://127.0.0.1:${replicas[0]!.port}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!answered) await new Promise((r) => setTimeout(r, 200));
    }
    expect(answered).toBe(true);
    const again = await fetch(`http://127.0.0.1:${ports.project}/projects?page=1`, { headers: { authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);

    const tree = cluster.tree();
    process.kill(-cluster.child.pid!, 'SIGINT'); // what the terminal does: the whole foreground process group
    expect(await cluster.exited).toBe(0);
    expect(await survivors(tree, 5_000)).toEqual([]);
    expect(await connectionRefused(ports.project)).toBe(true);
    expect(await connectionRefused(ports.aggregator)).toBe(true);
    expect(await connectionRefused(ports.postgres)).toBe(true);
  },
  120_000,
);

run(
  'kill -9 of the group: the replicas, HAProxy and the database stop by themselves',
  async () => {
    const cluster = startCluster();
    expect(await cluster.waitFor('Ctrl-C stops everything')).toBe(true);
    const tree = cluster.tree();
    expect(tree.length).toBeGreaterThanOrEqual(6); // 4 replicas, HAProxy, the database
    process.kill(-cluster.child.pid!, 'SIGKILL');
    // The replicas drain (4 s) once their IPC channel closes; the database's watchdog waits for its sessions.
    expect(await survivors(tree, 30_000)).toEqual([]);
    expect(await connectionRefused(ports.project)).toBe(true);
  },
  120_000,
);

run(
  'npm run cluster -- --rolling-check: every replica restarted under load, nothing failed, lost, duplicated or missed',
  async () => {
    const cluster = startCluster(['--rolling-check', '--duration', '15']);
    expect(await cluster.waitFor(/rolling check: \d+ s, .*: (OK|FAILED)/, 150_000)).toBe(true);
    const code = await cluster.exited;
    const line = cluster.out().trimEnd().split('\n').at(-1)!;
    const figure = (name: string) => Number(new RegExp(`${name} (\\d+)`).exec(line)?.[1]);
    expect(line).toMatch(/: OK$/);
    expect(Number(/(\d+) restarts \((\d+) not exit 0\)/.exec(line)?.[1])).toBeGreaterThanOrEqual(4);
    expect(Number(/\((\d+) not exit 0\)/.exec(line)?.[1])).toBe(0);
    expect(figure('failed')).toBe(0);
    expect(figure('lifecycles')).toBeGreaterThan(10);
    expect(figure('events expected')).toBeGreaterThan(0);
    expect(figure('stored')).toBe(figure('events expected'));
    expect(figure('duplicated')).toBe(0);
    expect(figure('lost')).toBe(0);
    expect(figure('missed')).toBe(0);
    expect(code).toBe(0);
    expect(await survivors(cluster.tree(), 5_000)).toEqual([]);
  },
  180_000,
);
