import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../logger.js';

export type { Knex };

/**
 * pg hands back int8 (bigint, count(*)) as strings. Every id and count we store fits in 2^53, so
 * they become numbers here, once, for every query of both services.
 */
const INT8: number = pg.types.builtins.INT8;
const NUMERIC: number = pg.types.builtins.NUMERIC;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8 || oid === NUMERIC) return Number;
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

export interface DbOptions {
  connectionString: string;
  /** The most connections open at once (DB_POOL_MAX for a service); idle ones close, none is kept open. */
  pool: { max: number };
  /** Server-side cap on every statement, in milliseconds. */
  statementTimeoutMs?: number;
  applicationName?: string;
  /**
   * How long a query waits for a free pool connection before failing (answered 503). Kept under
   * the services' request timeout, so that a request that waited this long is refused before it
   * could write after its client was already told 503. Default 2,000 ms.
   */
  acquireTimeoutMs?: number;
  /** Where knex's own warnings go (pool errors, deprecations); otherwise knex writes to the console. */
  logger?: Logger;
  /**
   * Whether the repositories' statements run as named prepared statements (the default, see
   * `statement`). False sends every statement unnamed: a pooler in transaction mode
   * (PgBouncer before 1.21) hands each transaction a different server connection, where a name
   * prepared on another one does not exist.
   */
  preparedStatements?: boolean;
}

/** The database settings both services read (their config schemas spread this). */
export const dbEnv = {
  /** The most connections one process's pool opens. */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** Server-side cap on every statement (PostgreSQL's statement_timeout). */
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3_000),
  /** `false` behind PgBouncer in transaction pooling mode: statements are sent unnamed (DbOptions.preparedStatements). */
  DB_PREPARED_STATEMENTS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
};

/**
 * A parameter of a statement: what pg sends as one value (an array goes as one PostgreSQL array,
 * for `= any(:ids::int[])`).
 */
export type StatementParam = string | number | boolean | Date | Buffer | null | readonly string[] | readonly number[];

/**
 * One SQL statement of a repository, with every parameter named once (`:projectId`, knex's named
 * bindings), so that reordering the text cannot swap two values, and the name it is prepared under.
 * Running it is the only thing a repository can do with it, and `run` decides whether the name is
 * sent: a repository cannot name a statement on a connection that must not have one.
 */
export interface Statement<P extends Record<string, StatementParam>, R> {
  /** The prepared statement's name on every connection (one text per name: see `statement`). */
  readonly name: string;
  readonly sql: string;
  run(db: Knex, params: P): Promise<{ rows: R[]; rowCount: number }>;
}

/** Whether a database made by createDb sends its statements' names (DbOptions.preparedStatements). */
const namesStatements = new WeakMap<Knex, boolean>();

/** The text of each name defined in this process: pg refuses a second text under a name it prepared. */
const defined = new Map<string, string>();

/**
 * Defines a statement run as a named prepared statement: PostgreSQL parses and analyses it once per
 * connection instead of on every call, and after a few executions may keep a generic plan (its plan
 * cache decides, as for any prepared statement). WRITEUP.md ("Performance at a million
 * deployments") has what it saved per statement. The name travels in the query's `.options()`, which knex's pg client hands
 * to `pg` with the text and values (shared/src/db/knex.test.ts fails the day it stops doing so).
 *
 * On a database made with `preparedStatements: false`, and on any other knex (a transaction of
 * it: knex has no public link from a transaction to its database), the statement is sent unnamed.
 */
export function statement<P extends Record<string, StatementParam>, R>(name: string, sql: string): Statement<P, R> {
  const earlier = defined.get(name);
  if (earlier !== undefined && earlier !== sql) throw new Error(`Statement ${name} is already defined with another text`);
  defined.set(name, sql);
  return {
    name,
    sql,
    async run(db, params) {
      const query = db.raw<{ rows: R[]; rowCount: number }>(sql, params);
      return namesStatements.get(db) === true ? query.options({ name }) : query;
    },
  };
}

export function createDb(options: DbOptions): Knex {
  const db = knexFactory({
    client: 'pg',
    connection: {
      connectionString: options.connectionString,
      types,
      application_name: options.applicationName,
      statement_timeout: options.statementTimeoutMs,
      connectionTimeoutMillis: 5_000,
    } as Knex.PgConnectionConfig,
    pool: { min: 0, max: options.pool.max, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: options.acquireTimeoutMs ?? 2_000,
    log: options.logger && {
      warn: (message: unknown) => options.logger!.warn({ knex: String(message) }, 'knex warning'),
      error: (message: unknown) => options.logger!.error({ knex: String(message) }, 'knex error'),
      deprecate: (message: unknown) => options.logger!.warn({ knex: String(message) }, 'knex deprecation'),
      debug: (message: unknown) => options.logger!.debug({ knex: String(message) }, 'knex debug'),
    },
  });
  namesStatements.set(db, options.preparedStatements !== false);
  return db;
}

/** One migration: a module with a real `up` and `down`, listed in order in the service's migrations index. */
export interface Migration {
  name: string;
  up: (knex: Knex) => Promise<void>;
  down: (knex: Knex) => Promise<void>;
}

/** Knex's migrator over a static, ordered list: no directory scanning, same code under jest and node. */
function source(migrations: readonly Migration[]): Knex.MigrationSource<Migration> {
  return {
    getMigrations: () => Promise.resolve([...migrations]),
    getMigrationName: (m) => m.name,
    getMigration: (m) => Promise.resolve({ up: m.up, down: m.down }),
  };
}

/** The one way to migrate: the CLI, the start command and the test setup all call this. */
export async function runMigrations(db: Knex, migrations: readonly Migration[]): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource: source(migrations) })) as [number, string[]];
  return applied;
}

export async function rollbackMigrations(db: Knex, migrations: readonly Migration[]): Promise<void> {
  await db.migrate.rollback({ migrationSource: source(migrations) }, true);
}

/** SQLSTATE of a PostgreSQL error, when it is one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
