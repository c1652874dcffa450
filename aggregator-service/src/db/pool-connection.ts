import type pg from 'pg';
import type { Knex } from '@hosting/shared';

/**
 * A connection of knex's pool held outside a query, for a server-side cursor that outlives one
 * (the export). Knex has no public API for that: these are the methods its own runner takes and
 * gives back connections with, and the mark its pool's validation discards a connection by.
 * We keep them rather than open clients beside the pool, which DB_POOL_MAX would then no longer
 * bound; pool-connection.test.ts fails the day a knex upgrade changes any of the three.
 */
interface KnexClientPool {
  acquireConnection(): Promise<pg.Client>;
  releaseConnection(connection: pg.Client): Promise<void>;
}

/** Takes a connection from `db`'s pool (waiting as a query would, up to the acquire timeout). */
export function acquireConnection(db: Knex): Promise<pg.Client> {
  return (db.client as KnexClientPool).acquireConnection();
}

/** Gives `connection` back to `db`'s pool; one marked by `discard` is destroyed there instead of reused. */
export function releaseConnection(db: Knex, connection: pg.Client): Promise<void> {
  return (db.client as KnexClientPool).releaseConnection(connection);
}

/** Marks a connection for knex's pool to discard instead of handing it out again, and closes it. */
export function discard(connection: pg.Client, reason: string): void {
  (connection as pg.Client & { __knex__disposed?: unknown }).__knex__disposed = reason;
  connection.end().catch(() => {});
}
