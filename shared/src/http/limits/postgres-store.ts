import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Knex } from '../../db/knex.js';
import type { Logger } from '../../logger.js';
import type { RateLimitPolicy, RateLimitStore } from './policy.js';

/**
 * The limits' counts in PostgreSQL, shared by every replica of a service (RATE_LIMIT_STORE=postgres):
 * rate-limiter-flexible's `RateLimiterPostgres` keeps one row per key and window in `rate_limits.counts`,
 * and its upsert is atomic, so concurrent counts from any number of processes each get their
 * exact place in the window.
 *
 * The database is asked only when the answer may depend on the other replicas:
 *
 * - **Failures** (`penalty`, the failed-authentication limit) are rare, and each must learn its
 *   place, so each is counted in PostgreSQL, except that concurrent failures of one address go in
 *   one statement (one in flight per key: a flood of wrong tokens from one address holds one pool
 *   connection, not one per request), and an address over its budget is answered from memory until
 *   its window ends.
 * - **Requests** (`consume`, the per-credential limit) are the common case. Each process admits
 *   up to 1% of `points` per key and window on its own (no round trip: an admin panel, a CI job or a
 *   service well under its budget never waits for the database), then charges what it admitted to
 *   PostgreSQL together with a reservation of the next 1%, which it then spends from memory. A
 *   credential near its budget is refused once the reservations run out, and from memory until the
 *   window ends. So a cluster of N processes admits at most `points` plus the uncharged local
 *   allowance, N × 1% of `points`, per window, and below 100 points (no allowance, reservations of
 *   one) exactly `points`. A reservation a process does not spend before the window ends is lost to
 *   the credential (at most 1% per process), never given to it twice.
 *
 * If PostgreSQL does not answer (an error, or no pool connection within the pool's acquire
 * timeout), the store counts in this process's memory for `FALLBACK_MS`, logs it once, and tries
 * the database again after that: an outage of the database lets the limits fall back to one
 * process's counts rather than turn every request into a 500 (the routes that need the database
 * answer 503 by themselves).
 */

/**
 * The counts' table, in a schema of its own: it is the limits' bookkeeping, not the service's data
 * (a refused request still changes nothing in the service's own schema, which the attack tests
 * check, and a dump of the data can leave it out). Its migration is `rateLimitsMigration`.
 */
const SCHEMA = 'rate_limits';
const TABLE = 'counts';
/** How long the store counts in memory after PostgreSQL failed, before it tries again. */
const FALLBACK_MS = 5_000;
/** Keys kept in memory (over-budget addresses, credentials' reservations) before expired ones are swept. */
const SWEEP_AT = 10_000;

/**
 * `rate_limits.counts`: the shape `RateLimiterPostgres` reads and writes (it is told the table
 * exists and never creates one at run time). Unlogged: the counts are worth less than a WAL write
 * per failure or reservation; a crash of the database empties the table, which resets the windows.
 */
export const rateLimitsMigration = {
  up: async (knex: Knex): Promise<void> => {
    await knex.raw(`create schema ${SCHEMA}`);
    await knex.raw(
      `create unlogged table ${SCHEMA}.${TABLE} (key varchar(255) primary key, points integer not null default 0, expire bigint)`,
    );
  },
  down: async (knex: Knex): Promise<void> => {
    await knex.raw(`drop schema ${SCHEMA} cascade`);
  },
};

/**
 * rate-limiter-flexible talks to PostgreSQL as to a pg Pool: `query({ text, values })` with `$n`
 * placeholders. This runs its statements through knex instead, so that they take the service's pool
 * (its size and acquire timeout), its statement timeout, and DB_PREPARED_STATEMENTS like every other
 * statement (the library would otherwise name its own prepared statements, which PgBouncer in
 * transaction mode cannot keep).
 */
function asPgPool(db: Knex) {
  return {
    async query(statement: { text: string; values?: unknown[] }): Promise<unknown> {
      const bindings: Knex.RawBinding[] = [];
      const sql = statement.text.replace(/\$(\d+)/g, (_, n: string) => {
        bindings.push(statement.values![Number(n) - 1] as Knex.RawBinding);
        return '?';
      });
      const result: unknown = await db.raw(sql, bindings);
      return result;
    },
  };
}

/** A count after an addition: the count as of the caller's own addition, and when its window ends. */
interface Counted {
  count: number;
  msBeforeNext: number;
}

/**
 * Adds to keys' counts in PostgreSQL (falling back to memory), one statement in flight per key:
 * additions that arrive while one is in flight go together in the next one, and each caller gets
 * the count as of its own addition.
 */
function sharedCounter(db: Knex, policy: RateLimitPolicy, keyPrefix: string, logger: Logger) {
  const options = { points: policy.points, duration: policy.windowSeconds, keyPrefix };
  const postgres = new RateLimiterPostgres({
    ...options,
    storeClient: asPgPool(db),
    storeType: 'pool',
    schemaName: SCHEMA,
    tableName: TABLE,
    tableCreated: true,
  });
  const memory = new RateLimiterMemory(options);
  let fallbackUntil = 0;

  const send = async (key: string, points: number): Promise<RateLimiterRes> => {
    if (Date.now() < fallbackUntil) return memory.penalty(key, points);
    try {
      const res = await postgres.penalty(key, points);
      if (fallbackUntil !== 0) {
        fallbackUntil = 0;
        logger.info({ limit: keyPrefix }, 'rate limit counts are back in PostgreSQL, shared by every replica');
      }
      return res;
    } catch (err) {
      if (fallbackUntil === 0)
        logger.warn(
          { err, limit: keyPrefix },
          "rate limit store (PostgreSQL) failed: counting in this process's memory, per replica, until it answers again",
        );
      fallbackUntil = Date.now() + FALLBACK_MS;
      return memory.penalty(key, points);
    }
  };

  /** Per key: the next statement, still taking additions, and the last one sent or queued. */
  interface Batch {
    points: number;
    res: Promise<RateLimiterRes>;
  }
  const next = new Map<string, Batch>();
  const last = new Map<string, Promise<unknown>>();
  return async function add(key: string, points: number): Promise<Counted> {
    let batch = next.get(key);
    if (!batch) {
      const before = last.get(key) ?? Promise.resolve();
      const created: Batch = {
        points: 0,
        res: before.then((): Promise<RateLimiterRes> => {
          next.delete(key); // later additions wait for this statement and go in the one after it
          return send(key, created.points);
        }),
      };
      const settled = created.res.then(
        () => undefined,
        () => undefined,
      );
      last.set(key, settled);
      void settled.then(() => {
        if (last.get(key) === settled) last.delete(key);
      });
      next.set(key, created);
      batch = created;
    }
    const before = batch.points;
    batch.points += points;
    const res = await batch.res;
    // The statement added the whole batch; this caller's count leaves out what was added after it.
    return { count: res.consumedPoints - (batch.points - before - points), msBeforeNext: res.msBeforeNext };
  };
}

/** Deletes the entries whose time is up once a map holds many keys (expired keys are otherwise dropped when next seen). */
function sweep<V>(map: Map<string, V>, expired: (value: V) => boolean): void {
  if (map.size < SWEEP_AT) return;
  for (const [key, value] of map) if (expired(value)) map.delete(key);
}

/** A limit counted in PostgreSQL for every replica, with the in-memory fast paths described above. */
export function postgresRateLimitStore(db: Knex, policy: RateLimitPolicy, keyPrefix: string, logger: Logger): RateLimitStore {
  // A count belongs to its policy: the replicas of a service share one, but during a rollout that
  // changes the budget or the window, old and new replicas count apart rather than read each
  // other's windows (a row's expiry is set by the policy that opened its window).
  const add = sharedCounter(db, policy, `${keyPrefix}(${policy.points}/${policy.windowSeconds}s)`, logger);
  const windowMs = policy.windowSeconds * 1000;

  /** Failures: addresses over their budget, answered without the database until `until`. */
  const over = new Map<string, { until: number; count: number }>();
  const penalty = async (key: string): Promise<RateLimiterRes> => {
    const now = Date.now();
    const known = over.get(key);
    if (known && known.until > now) {
      known.count++;
      return new RateLimiterRes(0, known.until - now, known.count);
    }
    const { count, msBeforeNext } = await add(key, 1);
    if (count > policy.points) {
      sweep(over, (v) => v.until <= now);
      over.set(key, { until: Date.now() + msBeforeNext, count });
    } else if (known) over.delete(key);
    return new RateLimiterRes(Math.max(0, policy.points - count), msBeforeNext, count);
  };

  /** Requests admitted per key and window before they are charged to the database; and the size of a reservation. */
  const allowance = Math.floor(policy.points / 100);
  const reservation = Math.max(1, allowance);
  interface Lease {
    /** Admitted from the local allowance in the window that began at `since`, not charged yet. */
    uncharged: number;
    since: number;
    /** Reserved in PostgreSQL and not spent yet, until `until` (the end of the shared window). */
    reserved: number;
    until: number;
    /** The shared budget is spent: refuse once `reserved` is, until `until`. */
    spent: boolean;
    charging?: Promise<void>;
  }
  const leases = new Map<string, Lease>();
  const leaseOf = (key: string, now: number): Lease => {
    let lease = leases.get(key);
    if (!lease) {
      sweep(leases, (l) => l.until <= now && now - l.since >= windowMs && !l.charging);
      lease = { uncharged: 0, since: now, reserved: 0, until: 0, spent: false };
      leases.set(key, lease);
    }
    if (now - lease.since >= windowMs) {
      lease.uncharged = 0; // at most `allowance` admitted per process and window go uncharged
      lease.since = now;
    }
    if (lease.until <= now) {
      lease.reserved = 0;
      lease.spent = false;
    }
    return lease;
  };
  /** Charges what was admitted locally, with the next reservation; learns from the count what was granted. */
  const charge = async (key: string, lease: Lease): Promise<void> => {
    const charged = lease.uncharged;
    const { count, msBeforeNext } = await add(key, charged + reservation);
    lease.uncharged = Math.max(0, lease.uncharged - charged);
    const granted = Math.max(0, Math.min(reservation, policy.points - (count - reservation)));
    lease.reserved += granted;
    lease.until = Date.now() + msBeforeNext;
    lease.spent = granted < reservation;
  };
  const admitted = new RateLimiterRes();
  const consume = async (key: string): Promise<RateLimiterRes> => {
    for (;;) {
      const now = Date.now();
      const lease = leaseOf(key, now);
      if (lease.reserved > 0) {
        lease.reserved--;
        return admitted;
      }
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a store refuses with a RateLimiterRes (when to come back), as rate-limiter-flexible's own do; perCredentialLimit reads it
      if (lease.spent) throw new RateLimiterRes(0, lease.until - now, policy.points + 1);
      if (lease.uncharged < allowance) {
        lease.uncharged++;
        return admitted;
      }
      lease.charging ??= charge(key, lease).finally(() => (lease.charging = undefined));
      await lease.charging;
    }
  };

  return { consume, penalty };
}
