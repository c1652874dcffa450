import { statement, type EventEnvelope, type Knex } from '@hosting/shared';
import type { EventRow } from '../../db/tables.js';
import type { Cursor } from './cursor.js';
import { serializedOf } from './serialized.js';

/** The SQL of the event store: one-statement idempotent batch insert, keyset pages, lookup by id. */

export interface EventFilter {
  name?: string;
  projectId?: number;
  deploymentId?: number;
  userId?: number;
  /** Inclusive. */
  from?: string;
  /** Exclusive. */
  to?: string;
}

/** A stored event with its exact position for a cursor. */
export interface PositionedEvent extends EventRow {
  position: Cursor;
}

/** The columns of a stored event, as every reader of the store selects them. */
export const EVENT_COLUMNS = [
  'id',
  'event_id',
  'name',
  'payload',
  'occurred_at',
  'created_at',
  'project_id',
  'deployment_id',
  'user_id',
] as const;
const COLUMNS = EVENT_COLUMNS;

/** Narrows `query` to the events matching `filter`: the one definition of the filters, for pages and the export. */
export function whereEventMatches<Q extends Knex.QueryBuilder>(query: Q, filter: EventFilter): Q {
  if (filter.name !== undefined) query.where('name', filter.name);
  if (filter.projectId !== undefined) query.where('project_id', filter.projectId);
  if (filter.deploymentId !== undefined) query.where('deployment_id', filter.deploymentId);
  if (filter.userId !== undefined) query.where('user_id', filter.userId);
  if (filter.from !== undefined) query.whereRaw('occurred_at >= :from::timestamptz', { from: filter.from });
  if (filter.to !== undefined) query.whereRaw('occurred_at < :to::timestamptz', { to: filter.to });
  return query;
}

/** `occurred_at` to the microsecond, in UTC: the cursor's half of the position (a JS Date keeps milliseconds). */
const EXACT_OCCURRED_AT = `to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as exact_occurred_at`;

/**
 * The whole batch is one bound parameter (a JSON array) expanded by `jsonb_to_recordset`: one
 * statement and one parse for 500 events instead of 3,500 placeholders. `with ordinality` keeps
 * request order, so ids follow it. A conflict on `event_id` (an earlier request, a concurrent
 * one, or a repeat in this batch) skips the row; `returning` names only the rows inserted.
 * The reference columns are copied from the payload (the batch parser checked they fit).
 */
const insert = statement<{ events: string }, { event_id: string }>(
  'events_insert',
  `insert into events (event_id, name, payload, occurred_at, project_id, deployment_id, user_id)
  select e.event_id, e.name, e.payload, e.occurred_at,
         (e.payload ->> 'projectId')::integer, (e.payload ->> 'deploymentId')::integer, (e.payload ->> 'userId')::integer
  from rows from (jsonb_to_recordset(:events::jsonb) as ("eventId" uuid, name text, payload jsonb, "occurredAt" timestamptz))
       with ordinality as e(event_id, name, payload, occurred_at, ord)
  order by e.ord
  on conflict (event_id) do nothing
  returning event_id`,
);

export function createEventsRepo(db: Knex) {
  return {
    /** Inserts the events whose `eventId` is new; returns the ids (lower case, as PostgreSQL prints them) it inserted. */
    async insertNew(events: readonly EventEnvelope[]): Promise<Set<string>> {
      if (events.length === 0) return new Set();
      // The batch parser's text of each event, joined: the batch is not serialized a second time.
      const { rows } = await insert.run(db, { events: `[${events.map(serializedOf).join(',')}]` });
      return new Set(rows.map((r) => r.event_id));
    },

    /** Up to `limit` events matching `filter`, newest first by (occurred_at, id), strictly after `after`. */
    async page(filter: EventFilter, limit: number, after?: Cursor): Promise<PositionedEvent[]> {
      const query = db('events').select<Array<EventRow & { exact_occurred_at: string }>>([...COLUMNS, db.raw(EXACT_OCCURRED_AT)]);
      whereEventMatches(query, filter);
      if (after) query.whereRaw('(occurred_at, id) < (:occurredAt::timestamptz, :id)', { occurredAt: after.occurredAt, id: after.id });
      const rows = await query
        .orderBy([
          { column: 'occurred_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .limit(limit);
      return rows.map(({ exact_occurred_at, ...row }) => ({ ...row, position: { occurredAt: exact_occurred_at, id: row.id } }));
    },

    async findById(id: number): Promise<EventRow | undefined> {
      return db('events')
        .where({ id })
        .first(...COLUMNS);
    },
  };
}

export type EventsRepo = ReturnType<typeof createEventsRepo>;
