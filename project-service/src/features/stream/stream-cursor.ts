/**
 * Where the stream is in `deployment_changes`, and when it may move on: the rule that makes the
 * stream gap-free although ids are not handed out in commit order.
 *
 * A `bigserial` id is taken when a row is written, not when its transaction commits: transaction A
 * takes id 10, B takes 11 and commits first. A reader at `id > 9` then sees 11 without 10; if it
 * moved its cursor to 11, 10 would be lost for good when A commits. A missing id is either still
 * in flight (its transaction will commit or roll back) or dead (rolled back, or taken by a failed
 * statement), and the reader cannot see which. PostgreSQL's snapshot tells when the question is
 * settled: every transaction that could still write id 10 was running when the reader saw 11 (10
 * was taken before 11, by a transaction that already had its xid), so its xid is below the first
 * xid not yet assigned then (`xmax` here; stream.repo.ts reads it). Once a later snapshot's `xmin`
 * (the oldest transaction still running) reaches that `xmax`, all of those transactions have
 * ended, and an id still missing is dead.
 *
 * So the cursor stops at the first missing id and holds back what follows (order is kept), until
 * the id appears or is proven dead; a write transaction takes milliseconds, so that is the usual
 * wait. A transaction that stays open for long (a psql session, a bulk import) would hold every
 * stream back: after `gapTimeoutMs` the id is given up on (logged), as event stores that read by
 * sequence do (Marten's "stale sequence threshold").
 */
export interface Snapshot {
  /** `pg_snapshot_xmin`: every transaction below it has ended. */
  xmin: bigint;
  /**
   * The first xid not yet assigned when the rows were read: every transaction running (or ended)
   * at the snapshot is below it. Not `pg_snapshot_xmax`, which is only past the last completed one.
   */
  xmax: bigint;
}

/** Missing ids below `below` (a visible id) were taken by transactions below `horizon`. */
export interface Gap {
  below: number;
  horizon: bigint;
  /** When the gap was first seen (ms). */
  since: number;
}

export interface CursorState {
  /** Every id up to here was delivered or is dead. */
  cursor: number;
  gap?: Gap;
}

export interface Advance<T> {
  state: CursorState;
  /** The rows to deliver now, in id order. */
  emit: T[];
  /** Missing ids given up on because the snapshot proved them dead. */
  dead: number;
  /** Missing ids given up on after `gapTimeoutMs` (they might still appear: logged). */
  timedOut: number;
  /** True when a missing id holds the rest back (read again soon). */
  waiting: boolean;
}

/**
 * Moves the cursor over `rows` (read with `id > cursor order by id` under `snapshot`), as far as it
 * may. Pure: the hub keeps the state between reads.
 */
export function advanceCursor<T extends { id: number }>(
  state: CursorState,
  rows: readonly T[],
  snapshot: Snapshot,
  now: number,
  gapTimeoutMs: number,
): Advance<T> {
  let { cursor, gap } = state;
  const emit: T[] = [];
  let dead = 0;
  let timedOut = 0;
  for (const row of rows) {
    if (row.id <= cursor) continue;
    if (row.id > cursor + 1) {
      // cursor + 1 … row.id - 1 are missing. A gap seen before covers the ids below its `below`;
      // otherwise this snapshot is the evidence (row.id is visible, so they were taken before it).
      if (!gap || cursor + 1 >= gap.below || row.id > gap.below) gap = { below: row.id, horizon: snapshot.xmax, since: now };
      const proven = snapshot.xmin >= gap.horizon;
      if (!proven && now - gap.since < gapTimeoutMs) return { state: { cursor, gap }, emit, dead, timedOut, waiting: true };
      const missing = row.id - 1 - cursor;
      if (proven) dead += missing;
      else timedOut += missing;
    }
    emit.push(row);
    cursor = row.id;
    if (gap && cursor >= gap.below - 1) gap = undefined;
  }
  return { state: { cursor, ...(gap ? { gap } : {}) }, emit, dead, timedOut, waiting: false };
}
