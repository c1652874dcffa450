import { statement, type Knex } from '@hosting/shared';
import type { OutboxRow } from '../db/tables.js';

/** An outbox row as the relay sends it. */
export type OutboxEvent = Pick<OutboxRow, 'id' | 'event_id' | 'name' | 'payload' | 'occurred_at' | 'attempts'>;

export interface OutboxStatus {
  undelivered: number;
  oldestUndeliveredAt: Date | null;
  /** By the database clock, so an app server's clock skew cannot shift it. */
  oldestUndeliveredAgeSeconds: number;
  maxAttempts: number;
  lastError: string | null;
}

/**
 * Claims up to `limit` due rows for `leaseMs`: the relay's poll, in every relay on every wake-up.
 */
const claim = statement<{ limit: number; leaseMs: number }, OutboxEvent>(
  'outbox_claim',
  `update outbox set attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => :leaseMs::float8 / 1000)
   where id in (
     select id from outbox
     where delivered_at is null and next_attempt_at <= now()
     order by next_attempt_at, id
     limit :limit for update skip locked)
   returning id, event_id, name, payload, occurred_at, attempts`,
);

/**
 * The relay's SQL. Claiming is one autocommitted statement: the rows are picked with
 * `FOR UPDATE SKIP LOCKED` (so concurrent relays take disjoint rows) and leased by moving
 * `next_attempt_at` past the lease, so the claim is committed before any HTTP call and a relay
 * that dies only delays its rows until the lease ends.
 */
export function createOutboxRepo(db: Knex) {
  return {
    async claim(limit: number, leaseMs: number): Promise<OutboxEvent[]> {
      const { rows } = await claim.run(db, { limit, leaseMs });
      return rows.sort((a, b) => a.id - b.id);
    },

    async markDelivered(ids: number[]): Promise<void> {
      if (ids.length > 0) await db('outbox').whereIn('id', ids).update({ delivered_at: db.fn.now(), last_error: null });
    },

    /**
     * Schedules another attempt with capped exponential backoff and full jitter:
     * a random delay in [0, min(cap, base · 2^(attempts−1))].
     */
    async markFailed(ids: number[], error: string, backoff: { baseMs: number; capMs: number }): Promise<void> {
      if (ids.length === 0) return;
      await db('outbox')
        .whereIn('id', ids)
        .update({
          last_error: error.slice(0, 1000),
          next_attempt_at: db.raw(
            `now() + make_interval(secs => random() * least(:capMs::float8, :baseMs::float8 * power(2, least(attempts - 1, 30))) / 1000)`,
            backoff,
          ),
        });
    },

    /** Gives claimed rows back at once (a relay stopping with a batch it could not finish). */
    async release(ids: number[]): Promise<void> {
      if (ids.length > 0) await db('outbox').whereIn('id', ids).whereNull('delivered_at').update({ next_attempt_at: db.fn.now() });
    },

    async status(): Promise<OutboxStatus> {
      const { rows } = await db.raw<{
        rows: Array<{
          undelivered: number;
          oldest: Date | null;
          age: number | null;
          max_attempts: number | null;
          last_error: string | null;
        }>;
      }>(
        `select count(*) as undelivered, min(occurred_at) as oldest, max(attempts) as max_attempts,
                extract(epoch from now() - min(occurred_at))::float8 as age,
                (select last_error from outbox where delivered_at is null and last_error is not null order by id desc limit 1) as last_error
         from outbox where delivered_at is null`,
      );
      const row = rows[0]!;
      return {
        undelivered: row.undelivered,
        oldestUndeliveredAt: row.oldest,
        oldestUndeliveredAgeSeconds: Math.max(0, row.age ?? 0),
        maxAttempts: row.max_attempts ?? 0,
        lastError: row.last_error,
      };
    },

    /** Deletes delivered rows older than `retentionMs`, at most `limit` at a time; returns how many. */
    async purgeDelivered(retentionMs: number, limit = 10_000): Promise<number> {
      return db('outbox')
        .whereIn(
          'id',
          db('outbox')
            .select('id')
            .whereNotNull('delivered_at')
            .where('delivered_at', '<', db.raw('now() - make_interval(secs => :retentionMs::float8 / 1000)', { retentionMs }))
            .limit(limit),
        )
        .delete();
    },
  };
}

export type OutboxRepo = ReturnType<typeof createOutboxRepo>;
