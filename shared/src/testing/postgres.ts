import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createDb, type Knex } from '../db/knex.js';

/**
 * Per-test-file databases, cloned from a migrated template that the global setup made. Cloning
 * is a file copy inside PostgreSQL: a fresh, fully migrated database in a few milliseconds.
 * TEST_PG_SERVER_URL (set by test/global-setup.ts) names the server.
 */
export interface TestDatabase {
  name: string;
  url: string;
  db: Knex;
  drop(): Promise<void>;
}

export function serverUrl(): string {
  const url = process.env.TEST_PG_SERVER_URL;
  if (!url) throw new Error('TEST_PG_SERVER_URL is not set: run the tests through jest (test/global-setup.ts starts PostgreSQL)');
  return url;
}

export function databaseUrl(database: string): string {
  const url = new URL(serverUrl());
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl('postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export function templateName(service: 'project' | 'aggregator'): string {
  return `template_${service}`;
}

export async function createTestDatabase(
  service: 'project' | 'aggregator',
  options: { statementTimeoutMs?: number; poolMax?: number; acquireTimeoutMs?: number } = {},
): Promise<TestDatabase> {
  const name = `test_${service}_${randomBytes(6).toString('hex')}`;
  await withAdmin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`create database ${name} template ${templateName(service)}`);
        return;
      } catch (err) {
        // Two files cloning at once may find the template busy for a moment.
        if (attempt >= 20 || (err as { code?: string }).code !== '55006') throw err;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
      }
    }
  });
  const url = databaseUrl(name);
  const db = createDb({
    connectionString: url,
    pool: { max: options.poolMax ?? 10 },
    statementTimeoutMs: options.statementTimeoutMs,
    acquireTimeoutMs: options.acquireTimeoutMs,
    applicationName: 'jest',
  });
  return {
    name,
    url,
    db,
    drop: async () => {
      await db.destroy();
      await withAdmin((client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** Counts the SQL statements a piece of work sends through `db`. */
export async function countQueries<T>(db: Knex, work: () => Promise<T>): Promise<{ result: T; queries: string[] }> {
  const queries: string[] = [];
  const listener = (q: { sql: string }) => queries.push(q.sql);
  db.on('query', listener);
  try {
    const result = await work();
    return { result, queries };
  } finally {
    db.off('query', listener);
  }
}
