import { advanceCursor, type CursorState } from './stream-cursor.js';

const rows = (...ids: number[]) => ids.map((id) => ({ id }));
/** Nothing running: xmin = xmax. */
const quiet = (x: number) => ({ xmin: BigInt(x), xmax: BigInt(x) });
const busy = (xmin: number, xmax: number) => ({ xmin: BigInt(xmin), xmax: BigInt(xmax) });
const TIMEOUT = 10_000;

describe('advanceCursor', () => {
  it('moves over contiguous ids and emits them in order', () => {
    const r = advanceCursor({ cursor: 4 }, rows(5, 6, 7), busy(100, 110), 0, TIMEOUT);
    expect(r.emit.map((x) => x.id)).toEqual([5, 6, 7]);
    expect(r.state).toEqual({ cursor: 7 });
    expect(r.waiting).toBe(false);
  });

  it('stops at a missing id while transactions that may hold it are running, and holds back what follows', () => {
    const r = advanceCursor({ cursor: 4 }, rows(5, 7, 8), busy(100, 110), 1_000, TIMEOUT);
    expect(r.emit.map((x) => x.id)).toEqual([5]);
    expect(r.state).toEqual({ cursor: 5, gap: { below: 7, horizon: 110n, since: 1_000 } });
    expect(r.waiting).toBe(true);
  });

  it('delivers the missing id in order when its transaction commits', () => {
    const first = advanceCursor({ cursor: 5 }, rows(7, 8), busy(100, 110), 1_000, TIMEOUT);
    const later = advanceCursor(first.state, rows(6, 7, 8), busy(101, 112), 1_050, TIMEOUT);
    expect(later.emit.map((x) => x.id)).toEqual([6, 7, 8]);
    expect(later.state).toEqual({ cursor: 8 });
    expect(later.dead + later.timedOut).toBe(0);
  });

  it('gives the id up as dead once every transaction of the first snapshot has ended', () => {
    const first = advanceCursor({ cursor: 5 }, rows(7, 8), busy(100, 110), 1_000, TIMEOUT);
    // Transactions 100…109 are still not all over: wait.
    const still = advanceCursor(first.state, rows(7, 8), busy(109, 120), 1_100, TIMEOUT);
    expect(still.emit).toEqual([]);
    expect(still.state.gap).toEqual(first.state.gap);
    // xmin reached the first snapshot's xmax: id 6 was rolled back.
    const over = advanceCursor(still.state, rows(7, 8), busy(110, 125), 1_200, TIMEOUT);
    expect(over.emit.map((x) => x.id)).toEqual([7, 8]);
    expect(over.dead).toBe(1);
    expect(over.state).toEqual({ cursor: 8 });
  });

  it('knows at once that a missing id is dead when nothing runs', () => {
    const r = advanceCursor({ cursor: 0 }, rows(1, 4, 5), quiet(50), 0, TIMEOUT);
    expect(r.emit.map((x) => x.id)).toEqual([1, 4, 5]);
    expect(r.dead).toBe(2);
    expect(r.waiting).toBe(false);
  });

  it('keeps the evidence of the first snapshot for ids that stay missing while others fill in', () => {
    const first = advanceCursor({ cursor: 0 }, rows(4), busy(100, 110), 0, TIMEOUT); // 1, 2, 3 missing
    const some = advanceCursor(first.state, rows(1, 4), busy(105, 130), 10, TIMEOUT); // 1 arrived; 2, 3 still missing
    expect(some.emit.map((x) => x.id)).toEqual([1]);
    expect(some.state.gap).toEqual({ below: 4, horizon: 110n, since: 0 });
    const done = advanceCursor(some.state, rows(3, 4), busy(110, 140), 20, TIMEOUT); // 3 arrived; 2 proven dead
    expect(done.emit.map((x) => x.id)).toEqual([3, 4]);
    expect(done.dead).toBe(1);
    expect(done.state).toEqual({ cursor: 4 });
  });

  it('gives up on an id after the timeout even when a long transaction keeps xmin back', () => {
    const first = advanceCursor({ cursor: 5 }, rows(7), busy(90, 110), 0, TIMEOUT);
    const before = advanceCursor(first.state, rows(7), busy(90, 130), TIMEOUT - 1, TIMEOUT);
    expect(before.emit).toEqual([]);
    const after = advanceCursor(before.state, rows(7, 8), busy(90, 140), TIMEOUT, TIMEOUT);
    expect(after.emit.map((x) => x.id)).toEqual([7, 8]);
    expect(after.timedOut).toBe(1);
    expect(after.dead).toBe(0);
  });

  it('ignores rows at or below the cursor and an empty read', () => {
    const state: CursorState = { cursor: 9 };
    expect(advanceCursor(state, rows(8, 9), quiet(1), 0, TIMEOUT)).toEqual({ state, emit: [], dead: 0, timedOut: 0, waiting: false });
    expect(advanceCursor(state, [], quiet(1), 0, TIMEOUT).state).toEqual(state);
  });

  it('takes new evidence for a second gap above the first', () => {
    const first = advanceCursor({ cursor: 0 }, rows(2, 3, 5), busy(100, 110), 0, TIMEOUT);
    expect(first.state).toEqual({ cursor: 0, gap: { below: 2, horizon: 110n, since: 0 } });
    const next = advanceCursor(first.state, rows(1, 2, 3, 5), busy(105, 120), 5, TIMEOUT);
    expect(next.emit.map((x) => x.id)).toEqual([1, 2, 3]);
    expect(next.state).toEqual({ cursor: 3, gap: { below: 5, horizon: 120n, since: 5 } });
  });
});
