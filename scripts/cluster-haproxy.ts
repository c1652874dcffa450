import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The Debian tools the cluster drives (haproxy, pgbouncer) live in /usr/sbin, which is not on
 * every user's PATH: found on PATH first, then there. Undefined when not installed.
 */
export function findTool(name: string): string | undefined {
  if (spawnSync(name, ['-v'], { stdio: 'ignore' }).status === 0) return name;
  for (const dir of ['/usr/sbin', '/usr/local/sbin']) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * HAProxy stops (SIGTERM) once its owner is gone, however the owner ended (Ctrl-C, a SIGKILL of
 * it or of its process group): a shell holds the read end of a pipe from the owner, and `read`
 * returns at the pipe's end, which the kernel closes with the owner. The shell exits with
 * HAProxy's status, so the owner sees HAProxy itself end. The pipe is a descriptor of its own (3):
 * the standard input of a background list is /dev/null in a shell without job control.
 */
const WRAPPER = [
  'exec 3<&0',
  '"$0" -db -f "$1" </dev/null 3<&- &',
  'hp=$!',
  '{ read _ <&3; kill -TERM "$hp" 2>/dev/null; } &',
  'wait "$hp"',
].join('\n');

/**
 * Runs `haproxy -db -f config` (in the foreground of a process group of its own, out of reach of
 * the terminal's Ctrl-C); its request log (stdout) and its messages (stderr: servers going up and
 * down, alerts) go to `logFd`. End it with `stopHaproxy`.
 */
export function startHaproxy(binary: string, config: string, logFd: number): ChildProcess {
  const child = spawn('/bin/sh', ['-c', WRAPPER, binary, config], { detached: true, stdio: ['pipe', logFd, logFd] });
  child.stdin!.on('error', () => undefined);
  // The lingering `read` ends once HAProxy has: close our end of the pipe then.
  child.once('exit', () => child.stdin!.destroy());
  return child;
}

/** Closes the pipe (HAProxy stops at once: its replicas are gone by then); SIGKILL to its group after `graceMs`. */
export function stopHaproxy(child: ChildProcess, graceMs = 5_000): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.stdin!.end();
    setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, graceMs).unref();
  });
}
