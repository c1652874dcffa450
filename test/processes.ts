/** Helpers for the top-level tests that run the services as their own processes. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort } from '@hosting/shared';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Polls `GET /healthz` on 127.0.0.1:`port` every 100 ms until it answers 2xx; throws after 15 s. */
export async function waitUntilUp(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers on ${port}`);
}

/** True when a new TCP connection to 127.0.0.1:`port` is refused (fetch would reuse pooled sockets). */
export function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Holds `lock table` in a transaction of its own until released. */
export async function holdLock(url: string, table: string) {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined); // a database that stops under the lock fails release() instead
  await client.connect();
  await client.query('begin');
  await client.query(`lock table ${table} in access exclusive mode`);
  return {
    waitForBlocked: async (app: string) => {
      for (let i = 0; i < 200; i++) {
        const { rows } = await client.query(
          `select count(*)::int as n from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'`,
          [app],
        );
        if (rows[0].n > 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the request never reached the database');
    },
    release: async () => {
      await client.query('rollback');
      await client.end();
    },
  };
}

export type HeldLock = Awaited<ReturnType<typeof holdLock>>;

/** True while `pid` runs; a zombie (ended, not yet reaped by whoever inherited it) counts as ended. */
export function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/** `pid` and every process below it (children of children included), from ps. */
export function processTree(pid: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='])
    .toString()
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const tree = [pid];
  for (let i = 0; i < tree.length; i++)
    for (const [child, parent] of rows) if (parent === tree[i] && !tree.includes(child)) tree.push(child);
  return tree.filter(running);
}

/** Waits up to `ms` until none of `pids` runs; returns those still running (pid and command line). */
export async function survivors(pids: number[], ms: number): Promise<string[]> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && pids.some(running)) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(running).map((pid) => {
    try {
      return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`;
    } catch {
      return String(pid);
    }
  });
}

export interface System {
  child: ChildProcess;
  out(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  ports: { project: number; aggregator: number; postgres: number };
  dataDir: string;
  /** Waits until the output holds `text` (or the process ends); false when it never came. */
  waitFor(text: string | RegExp, ms?: number): Promise<boolean>;
  /** Sends `signal` to the start command's whole process group, as a terminal's Ctrl-C or a process manager does. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Kills whatever of the system still runs and removes its data folder. */
  cleanup(): void;
}

/**
 * `npm start` as a user runs it, in a process group of its own, on free ports and its own data
 * folder: `npm start` itself (npm, its shell, the launcher) or the launcher alone (`node
 * scripts/launch.mjs`, from another working directory when `cwd` is given). Waits for the banner
 * unless `wait` is false.
 */
export async function startSystem(
  name: string,
  options: { npm?: boolean; cwd?: string; env?: Record<string, string>; wait?: boolean; dataDir?: string; ports?: System['ports'] } = {},
): Promise<System> {
  const dataDir = options.dataDir ?? path.join(os.tmpdir(), `hosting-start-${name}-${process.pid}`);
  const ports = options.ports ?? { postgres: await freePort(), project: await freePort(), aggregator: await freePort() };
  const [command, args] = options.npm ? ['npm', ['start']] : [process.execPath, [path.join(root, 'scripts', 'launch.mjs')]];
  const child = spawn(command, args, {
    cwd: options.cwd ?? root,
    detached: true,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(ports.postgres),
      PROJECT_SERVICE_PORT: String(ports.project),
      AGGREGATOR_SERVICE_PORT: String(ports.aggregator),
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const seen = new Set<number>();
  const remember = () => {
    if (child.pid && running(child.pid)) for (const pid of processTree(child.pid)) seen.add(pid);
  };
  const waitFor = async (text: string | RegExp, ms = 60_000) => {
    const deadline = Date.now() + ms;
    const has = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
    while (!has() && Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      remember();
      await new Promise((r) => setTimeout(r, 100));
    }
    remember();
    return has();
  };
  const system: System = {
    child,
    out: () => out,
    exited,
    ports,
    dataDir,
    waitFor,
    signalGroup: (signal) => process.kill(-child.pid!, signal),
    cleanup: () => {
      remember();
      for (const pid of seen) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone: nothing left to kill
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (options.wait !== false) await waitFor('Ctrl-C stops everything');
  return system;
}
