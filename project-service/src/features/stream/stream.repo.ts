import type { DeploymentStatus, Knex } from '@hosting/shared';
import { createProjectsRepo } from '../projects/projects.repo.js';
import type { Snapshot } from './stream-cursor.js';

/** A row of `deployment_changes` (migration 20261121000200): the deployment right after a change. */
export interface ChangeRow {
  id: number;
  deployment_id: number;
  project_id: number;
  status: DeploymentStatus;
  deployed_in: number | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, deployment_id, project_id, status, deployed_in, created_at, updated_at';

/** A change as the live reader sees it: with the owner of its project, for the streams of one user's projects. */
export type LiveChangeRow = ChangeRow & { user_id: number | null };

/** `(project_id in the owner's projects)`, or everything when the owner parameter is null: [owner, owner]. */
const OWNED_BY = '(?::int is null or project_id in (select id from projects where user_id = ?::int))';

/** What a reconnecting client's replay needs to know before it starts. */
export interface ReplayInfo {
  /** The oldest change still kept (older ones were purged); null when none is kept. */
  oldest: number | null;
  /** The highest id ever handed out; a Last-Event-ID above it is not from this database. */
  head: number;
  /** Changes to replay, counted up to `limit + 1`. */
  pending: number;
}

export function createStreamRepo(db: Knex) {
  return {
    /** Whether the project exists (and, with an owner, is theirs). */
    projectExists: createProjectsRepo(db).exists,

    /**
     * Where a hub starts: before the changes of the last `lookbackMs`, so that ids still missing then
     * (transactions in flight) are waited for like any gap; with no recent change, after the last one.
     */
    async startCursor(lookbackMs: number): Promise<number> {
      const { rows } = await db.raw<{ rows: Array<{ cursor: number }> }>(
        `select coalesce(
           (select min(id) - 1 from deployment_changes where changed_at > now() - make_interval(secs => ?::float8 / 1000)),
           (select max(id) from deployment_changes),
           0)::bigint as cursor`,
        [lookbackMs],
      );
      return rows[0]?.cursor ?? 0;
    },

    /**
     * The changes after `after` in id order, with the statement's own snapshot bounds (the same
     * snapshot the rows were read with: see stream-cursor.ts for what they prove). One row with
     * null columns when there is no change. Each change carries its project's owner (a primary-key
     * probe per row), for the all-projects streams of a user's token.
     */
    async readAfter(after: number, limit: number): Promise<{ rows: LiveChangeRow[]; snapshot: Snapshot }> {
      const { rows } = await db.raw<{ rows: Array<Omit<LiveChangeRow, 'id'> & { id: number | null; xmin: string; xmax: string }> }>(
        `select s.xmin::text as xmin, s.xmax::text as xmax, c.*
         from (select pg_snapshot_xmin(pg_current_snapshot()) as xmin, pg_snapshot_xmax(pg_current_snapshot()) as xmax) s
         left join lateral (
           select ch.id, ch.deployment_id, ch.project_id, ch.status, ch.deployed_in, ch.created_at, ch.updated_at, p.user_id
           from deployment_changes ch left join projects p on p.id = ch.project_id
           where ch.id > ? order by ch.id limit ?) c on true
         order by c.id`,
        [after, limit],
      );
      const first = rows[0]!;
      return {
        snapshot: { xmin: BigInt(first.xmin), xmax: BigInt(first.xmax) },
        rows: rows.filter((r) => r.id !== null).map(({ xmin: _n, xmax: _x, ...change }) => change as LiveChangeRow),
      };
    },

    /** `owner`: only the changes of that user's projects (null: everyone's). */
    async replayInfo(args: {
      after: number;
      upTo: number;
      projectId: number | null;
      owner: number | null;
      limit: number;
    }): Promise<ReplayInfo> {
      const { after, upTo, projectId, owner, limit } = args;
      const { rows } = await db.raw<{ rows: ReplayInfo[] }>(
        `select (select min(id) from deployment_changes) as oldest,
                (select case when is_called then last_value else 0 end from deployment_changes_id_seq) as head,
                (select count(*) from (
                   select 1 from deployment_changes
                   where id > ? and id <= ? and (?::int is null or project_id = ?::int) and ${OWNED_BY}
                   limit ?) x)::int as pending`,
        [after, upTo, projectId, projectId, owner, owner, limit + 1],
      );
      return rows[0]!;
    },

    /** The changes in (after, upTo], of one project or all (of the owner's, with one), in id order. */
    async replayPage(args: {
      after: number;
      upTo: number;
      projectId: number | null;
      owner: number | null;
      limit: number;
    }): Promise<ChangeRow[]> {
      const { after, upTo, projectId, owner, limit } = args;
      const { rows } = await db.raw<{ rows: ChangeRow[] }>(
        `select ${COLUMNS} from deployment_changes
         where id > ? and id <= ? and (?::int is null or project_id = ?::int) and ${OWNED_BY}
         order by id limit ?`,
        [after, upTo, projectId, projectId, owner, owner, limit],
      );
      return rows;
    },

    /** Deletes up to `chunk` changes older than `olderThanMs`; returns how many. */
    async purge(olderThanMs: number, chunk: number): Promise<number> {
      const result = await db.raw<{ rowCount: number }>(
        `delete from deployment_changes where id in (
           select id from deployment_changes where changed_at < now() - make_interval(secs => ?::float8 / 1000)
           order by changed_at limit ?)`,
        [olderThanMs, chunk],
      );
      return result.rowCount;
    },
  };
}

export type StreamRepo = ReturnType<typeof createStreamRepo>;
