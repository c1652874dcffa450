import type pg from 'pg';
import QueryStream from 'pg-query-stream';
import { ServiceUnavailableError, type Knex } from '@hosting/shared';
import { acquireConnection, discard, releaseConnection } from '../../db/pool-connection.js';
import type { EventRow } from '../../db/tables.js';
import { EVENT_COLUMNS, whereEventMatches, type EventFilter } from '../events/events.repo.js';

/**
 * The export's SQL: every matching event, oldest first by (occurred_at, id), read through a
 * server-side cursor (pg-query-stream: a named portal fetched `batchSize` rows at a time) on a
 * connection of its own taken from knex's pool (db/pool-connection.ts). Rows are only fetched as fast as the consumer
 * takes them, so memory stays flat whatever the table holds.
 *
 * The cursor runs in a read-only transaction of its own with `SET LOCAL statement_timeout` raised
 * to `maxDurationMs`: PostgreSQL does not stop a statement's timer when an Execute returns
 * PortalSuspended, so the service's usual timeout (3 s) would otherwise cut every export that
 * lasts longer than it, however fast each batch is (found by export.test.ts). The raised timeout
 * is the cap on a whole export, which also bounds how long it holds a snapshot (and back vacuum).
 *
 * Why not knex's `.stream()`: it releases its connection when the stream *ends*; a stream
 * destroyed because the HTTP client went away never ends, and the connection would never go back
 * to the pool. Here the connection is released in a `finally`, on every way out.
 */

/** Rows per round trip: large enough to amortise the round trip, small enough to stay a few hundred kB. */
export const EXPORT_BATCH_ROWS = 1_000;

/** How long a cancelled cursor may take to close before its connection is thrown away instead of reused. */
const CLOSE_TIMEOUT_MS = 5_000;

/** The longest an export may run (its statement timeout): 30 minutes, tens of millions of events. */
export const EXPORT_MAX_DURATION_MS = 30 * 60_000;

/** The export's statement (not run): knex builds it, pg-query-stream runs it. */
export function exportQuery(db: Knex, filter: EventFilter): { sql: string; bindings: readonly unknown[] } {
  const query = whereEventMatches(db('events').select(...EVENT_COLUMNS), filter);
  query.orderBy([
    { column: 'occurred_at', order: 'asc' },
    { column: 'id', order: 'asc' },
  ]);
  const native = query.toSQL().toNative();
  return { sql: native.sql, bindings: native.bindings };
}

/** Waits until `stream` has closed (its cursor's portal closed on the server), or `ms` passed: false then. */
function closed(stream: QueryStream, ms: number): Promise<boolean> {
  if (stream.closed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    stream.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export function createExportRepo(db: Knex, options: { maxDurationMs?: number } = {}) {
  const maxDurationMs = Math.max(1, Math.floor(options.maxDurationMs ?? EXPORT_MAX_DURATION_MS));
  return {
    /**
     * Every event matching `filter`, oldest first. The connection is taken when iteration starts
     * and given back when it stops, however it stops: the end, an error, or the consumer leaving
     * early (`return()`/`throw()` on the iterator, as a destroyed `Readable.from` does).
     */
    async *stream(filter: EventFilter, batchSize = EXPORT_BATCH_ROWS): AsyncGenerator<EventRow, void, undefined> {
      const { sql, bindings } = exportQuery(db, filter);
      let connection: pg.Client;
      try {
        connection = await acquireConnection(db);
      } catch (err) {
        throw new ServiceUnavailableError('No database connection is free for the export; try again shortly', 5, err);
      }
      let rows: QueryStream | undefined;
      try {
        await connection.query(`begin read only; set local statement_timeout = ${maxDurationMs}`);
        rows = connection.query(new QueryStream(sql, [...bindings], { batchSize }));
        for await (const row of rows) yield row as EventRow;
      } finally {
        // The for-await above destroys the stream on an early exit; its cursor then closes the
        // portal and waits for the server's ReadyForQuery before 'close'. Only then can the
        // transaction end and the connection serve another query.
        let clean = true;
        if (rows) {
          if (!rows.destroyed) rows.destroy();
          clean = await closed(rows, CLOSE_TIMEOUT_MS);
        }
        if (clean) {
          // Read only: rollback and commit are the same; rollback also ends a failed transaction.
          await connection.query('rollback').catch(() => (clean = false));
        }
        // A connection that cannot even close a portal or end a transaction is broken.
        if (!clean) discard(connection, 'export did not end cleanly');
        await releaseConnection(db, connection);
      }
    },
  };
}

export type ExportRepo = ReturnType<typeof createExportRepo>;
