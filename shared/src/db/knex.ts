import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from '../logger.js';

export type { Knex };

/**
 * pg hands back int8 (bigint, count(*)) as strings. Every id and count we store fits in 2^53, so
 * they become numbers here, once, for every query of both services.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
    if (oid === pg.types.builtins.NUMERIC) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface DbOptions {
  connectionString: string;
  pool?: { min?: number; max?: number };
  /** Server-side cap on every statement, in milliseconds. */
  statementTimeoutMs?: number;
  applicationName?: string;
  /** Where knex's own warnings go (pool errors, deprecations); otherwise knex writes to the console. */
  logger?: Logger;
}

export function createDb(options: DbOptions): Knex {
  return knexFactory({
    client: 'pg',
    connection: {
      connectionString: options.connectionString,
      types,
      application_name: options.applicationName,
      statement_timeout: options.statementTimeoutMs,
      connectionTimeoutMillis: 5_000,
    } as Knex.PgConnectionConfig,
    pool: { min: options.pool?.min ?? 0, max: options.pool?.max ?? 10, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: 5_000,
    log: options.logger && {
      warn: (message: unknown) => options.logger!.warn({ knex: String(message) }, 'knex warning'),
      error: (message: unknown) => options.logger!.error({ knex: String(message) }, 'knex error'),
      deprecate: (message: unknown) => options.logger!.warn({ knex: String(message) }, 'knex deprecation'),
      debug: (message: unknown) => options.logger!.debug({ knex: String(message) }, 'knex debug'),
    },
  });
}

/** One migration: a module with a real `up` and `down`, listed in order in the service's migrations index. */
export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** Knex's migrator over a static, ordered list: no directory scanning, same code under jest and node. */
function source(migrations: readonly Migration[]): Knex.MigrationSource<Migration> {
  return {
    getMigrations: async () => [...migrations],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => ({ up: m.up, down: m.down }),
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
