import { statement, type Knex } from '@hosting/shared';

/** A user's deployments created in `[from, before)`: how many, how many `done`, and the first one's time. */
export interface DeploymentCounts {
  deployments: number;
  successful: number;
  /** The earliest `created_at` in the range; null when the range holds none. */
  first_at: Date | null;
}

/**
 * One statement for the whole answer, whatever the window's length: the user's row (none: an
 * unknown user), and the counts over the user's projects' deployments in the range. The range is
 * whole ISO weeks computed by the service (stats.weeks.ts), so a deployment counts in the week of
 * its `created_at`. Served by `projects (user_id, id)` and, per project, one index-only range scan
 * of `deployments (project_id, created_at) include (status)` with its aggregate right above it: no
 * per-week query, no heap access, and only one row per project goes up to the user's totals
 * instead of every deployment row (WRITEUP.md, User statistics).
 *
 * `from` null counts from the beginning.
 */
const deploymentCounts = statement<{ userId: number; from: string | null; before: string }, DeploymentCounts>(
  'stats_deployment_counts',
  `
  select c.deployments, c.successful, c.first_at
  from users u
  cross join lateral (
    select coalesce(sum(x.deployments), 0) as deployments,
           coalesce(sum(x.successful), 0) as successful,
           min(x.first_at) as first_at
    from projects p
    cross join lateral (
      select count(*) as deployments,
             count(*) filter (where d.status = 'done') as successful,
             min(d.created_at) as first_at
      from deployments d
      where d.project_id = p.id
        and d.created_at >= coalesce(:from::timestamptz, '-infinity')
        and d.created_at < :before::timestamptz
    ) x
    where p.user_id = u.id
  ) c
  where u.id = :userId`,
);

export function createStatsRepo(db: Knex) {
  return {
    /** The counts of `userId`'s deployments created in `[from, before)` (`from` null: since the first); undefined for an unknown user. */
    async deploymentCounts(userId: number, range: { from: Date | null; before: Date }): Promise<DeploymentCounts | undefined> {
      const { rows } = await deploymentCounts.run(db, {
        userId,
        from: range.from?.toISOString() ?? null,
        before: range.before.toISOString(),
      });
      return rows[0];
    },
  };
}

export type StatsRepo = ReturnType<typeof createStatsRepo>;
