import { z } from 'zod';
import { windowDates } from './stats.weeks.js';
import type { UserStats } from './stats.service.js';

/**
 * Bounds of the window: instants the week arithmetic, JavaScript and PostgreSQL all handle with a
 * four-digit year, from the first Monday of year 1 to the last Sunday of 9999 (so the window's last
 * Sunday and the Monday after it are still dates PostgreSQL reads).
 */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-26T23:59:59.999Z');

const isoDate = z.iso.date();
const isoDateTime = z.iso.datetime({ offset: true });

/** A date (`YYYY-MM-DD`, midnight UTC) or an ISO 8601 date-time with `Z` or an offset → its instant, or NaN. */
function instantOf(value: string): number {
  if (isoDate.safeParse(value).success) return Date.parse(`${value}T00:00:00.000Z`);
  if (isoDateTime.safeParse(value).success) return Date.parse(value);
  return Number.NaN;
}

/** `from` or `to` of the query: a real calendar date or date-time (zod checks the calendar; `Date.parse` takes 30 February). */
export const windowBound = z
  .string()
  .refine((value) => !Number.isNaN(instantOf(value)), {
    message: 'must be a date (YYYY-MM-DD) or an ISO 8601 date-time with Z or an offset',
    abort: true,
  })
  .transform(instantOf)
  .refine((t) => t >= EARLIEST && t <= LATEST, 'must be between 0001-01-01 and 9999-12-26')
  .transform((t) => new Date(t));

/** `GET /users/:id/stats?from=&to=`; other query parameters are ignored. */
export const userStatsQuery = z.object({
  from: windowBound.optional(),
  to: windowBound.optional(),
});

/** The only fields a statistics response may carry. */
export interface UserStatsJson {
  userId: number;
  from: string | null;
  to: string | null;
  weeks: number;
  deployments: number;
  successfulDeployments: number;
  averageWeeklyDeployments: number;
  averageWeeklySuccessfulDeployments: number;
}

export function userStatsJson(s: UserStats): UserStatsJson {
  const dates = s.window ? windowDates(s.window) : { from: null, to: null };
  return {
    userId: s.userId,
    from: dates.from,
    to: dates.to,
    weeks: s.weeks,
    deployments: s.deployments,
    successfulDeployments: s.successful,
    averageWeeklyDeployments: s.averageWeekly,
    averageWeeklySuccessfulDeployments: s.averageWeeklySuccessful,
  };
}
