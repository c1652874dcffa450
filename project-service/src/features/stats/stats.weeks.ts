/**
 * The week arithmetic of user statistics, pure so that it is unit-tested without a database.
 *
 * Weeks are ISO 8601 weeks in UTC: Monday 00:00 UTC up to the next Monday 00:00 UTC. A window is a
 * run of whole weeks, `[start, end)`: `start` is a Monday 00:00 UTC (included), `end` the Monday
 * 00:00 UTC after its last week (excluded). UTC has no daylight saving, so every week is 7 × 24 h.
 */

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

export interface WeekWindow {
  /** Monday 00:00 UTC of the first week (included). */
  start: Date;
  /** Monday 00:00 UTC after the last week (excluded). */
  end: Date;
}

/** Monday 00:00 UTC of the ISO week that contains `instant` (2027-01-01, a Friday → 2026-12-28). */
export function weekStart(instant: Date): Date {
  const midnight = Math.floor(instant.getTime() / DAY_MS) * DAY_MS; // floor: right before 1970 too
  const sinceMonday = (new Date(midnight).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return new Date(midnight - sinceMonday * DAY_MS);
}

/** Monday 00:00 UTC after the ISO week that contains `instant`: the end (excluded) of a window whose last week that is. */
export function weekEnd(instant: Date): Date {
  return new Date(weekStart(instant).getTime() + WEEK_MS);
}

/** The window from the week containing `first` through the week containing `last`, both included. */
export function weeksFromTo(first: Date, last: Date): WeekWindow {
  return { start: weekStart(first), end: weekEnd(last) };
}

/** How many weeks a window holds (0 when it ends where, or before, it starts). */
export function weekCount(window: WeekWindow): number {
  return Math.max(0, Math.round((window.end.getTime() - window.start.getTime()) / WEEK_MS));
}

/** The window's first Monday and last Sunday as UTC calendar dates, `YYYY-MM-DD`. */
export function windowDates(window: WeekWindow): { from: string; to: string } {
  return { from: calendarDate(window.start), to: calendarDate(new Date(window.end.getTime() - DAY_MS)) };
}

function calendarDate(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

/**
 * `count / weeks` rounded half up to 2 decimals (7 over 3 weeks → 2.33), 0 for no week. Both are
 * integers, so `count * 100 / weeks` is exact whenever it is a half, and the rounding never
 * suffers from binary fractions (`Math.round(x * 100) / 100` gives 1.00 for 1.005).
 */
export function weeklyAverage(count: number, weeks: number): number {
  return weeks > 0 ? Math.round((count * 100) / weeks) / 100 : 0;
}
