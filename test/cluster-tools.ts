import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The Debian tools the cluster tests drive (haproxy, pgbouncer) live in /usr/sbin, which is not
 * on every user's PATH: found on PATH first, then there. Undefined when not installed.
 */
export function findTool(name: string): string | undefined {
  if (spawnSync(name, ['-v'], { stdio: 'ignore' }).status === 0) return name;
  for (const dir of ['/usr/sbin', '/usr/local/sbin']) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** A process in a group of its own, so `stopGroup` ends it and anything it started. */
export function spawnGroup(command: string, args: string[], env: Record<string, string | undefined>): ChildProcess {
  return spawn(command, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
}

/** SIGTERM to the process group, SIGKILL after `graceMs`; resolves when the leader has exited. */
export async function stopGroup(child: ChildProcess | undefined, graceMs = 5_000): Promise<void> {
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Resolves with the exit code once `child` exits. */
export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
