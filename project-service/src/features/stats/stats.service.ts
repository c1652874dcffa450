import { NotFoundError, ValidationError } from '@hosting/shared';
import type { Owner } from '../../domain.js';
import type { StatsRepo } from './stats.repo.js';
import { weekCount, weekEnd, weeklyAverage, weekStart, type WeekWindow } from './stats.weeks.js';

/** A user's deployment statistics over a window of whole ISO weeks. */
export interface UserStats {
  userId: number;
  /** null when the window holds no week (no `from`, and no deployment before the window's end). */
  window: WeekWindow | null;
  weeks: number;
  deployments: number;
  successful: number;
  averageWeekly: number;
  averageWeeklySuccessful: number;
}

export function createStatsService(deps: { stats: StatsRepo; clock: () => Date }) {
  const { stats, clock } = deps;
  return {
    /**
     * The window runs from the week of `from` (default: the week of the user's first deployment)
     * through the week of `to` (default: the current week, by the clock), both included; the
     * deployments created in it count, `done` ones as successful, and empty weeks count as weeks.
     * With an `owner` (a user's token), any other user is not found, exactly like a missing one,
     * and without a query: every id but their own gets the same answer in the same time.
     */
    async forUser(userId: number, bounds: { from?: Date; to?: Date }, owner?: Owner): Promise<UserStats> {
      const last = bounds.to ?? clock();
      if (bounds.from && bounds.from.getTime() > last.getTime()) {
        const message = bounds.to ? 'must not be after query.to' : 'must not be in the future (query.to defaults to now)';
        throw new ValidationError(`Invalid query.from: ${message}`, [{ path: 'query.from', message }]);
      }
      const start = bounds.from ? weekStart(bounds.from) : null;
      const end = weekEnd(last);
      const counts =
        owner === undefined || owner === userId ? await stats.deploymentCounts(userId, { from: start, before: end }) : undefined;
      if (!counts) throw new NotFoundError(`User ${userId} not found`);

      const first = start ?? (counts.first_at ? weekStart(counts.first_at) : null);
      const window = first ? { start: first, end } : null;
      const weeks = window ? weekCount(window) : 0;
      return {
        userId,
        window,
        weeks,
        deployments: counts.deployments,
        successful: counts.successful,
        averageWeekly: weeklyAverage(counts.deployments, weeks),
        averageWeeklySuccessful: weeklyAverage(counts.successful, weeks),
      };
    },
  };
}

export type StatsService = ReturnType<typeof createStatsService>;
