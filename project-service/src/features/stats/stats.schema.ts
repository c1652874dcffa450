import { z } from 'zod';
import { windowDates } from './stats.weeks.js';
import { positiveId } from '../../http/params.js';
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
  .transform((t) => new Date(t))
  .meta({ override: { anyOf: [{ format: 'date' }, { format: 'date-time' }] } });

/** The user of a path. */
export const userIdParams = z.object({ id: positiveId.meta({ description: 'The user id. Not a positive integer: 400.' }) });

/** `GET /users/:id/stats?from=&to=`; other query parameters are ignored. */
export const userStatsQuery = z.object({
  from: windowBound.optional().meta({
    description: "The window starts with the ISO week containing this date or instant. Default: the week of the user's first deployment.",
    param: { example: '2026-12-21' },
  }),
  to: windowBound.optional().meta({
    description: 'The window ends with the ISO week containing this date or instant (included). Default: the current week.',
    param: { example: '2027-01-10' },
  }),
});

const windowDay = (description: string) => z.iso.date().nullable().meta({ description });
const average = (description: string) => z.number().min(0).meta({ description });

/** The only fields a statistics response may carry. */
export const userStatsSchema = z
  .object({
    userId: z.int().min(1),
    from: windowDay("The window's first day, a Monday (UTC); null when the window holds no week."),
    to: windowDay("The window's last day, a Sunday (UTC), included; null when the window holds no week."),
    weeks: z.int().min(0).meta({ description: 'ISO weeks in the window, those without any deployment included.' }),
    deployments: z.int().min(0).meta({ description: 'Deployments created in the window, whatever their status.' }),
    successfulDeployments: z.int().min(0).meta({ description: 'Of those, the ones whose status is `done`.' }),
    averageWeeklyDeployments: average('`deployments / weeks`, rounded half up to 2 decimals; 0 without a week.'),
    averageWeeklySuccessfulDeployments: average('`successfulDeployments / weeks`, rounded half up to 2 decimals; 0 without a week.'),
  })
  .meta({ description: "A user's deployment statistics over a window of whole ISO weeks." });

export type UserStatsJson = z.infer<typeof userStatsSchema>;

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
