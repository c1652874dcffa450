import { statement, type DeploymentStatus, type Knex } from '@hosting/shared';
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

const COLUMNS = ['id', 'deployment_id', 'project_id', 'status', 'deployed_in', 'created_at', 'updated_at'];

/** A change as the live reader sees it: with the owner of its project, for the streams of one user's projects. */
export type LiveChangeRow = ChangeRow & { user_id: number | null };

/** What a reconnecting client's replay needs to know before it starts. */
export interface ReplayInfo {
  /** The oldest change still kept (older ones were purged); null when none is kept. */
  oldest: number | null;
  /** The highest id ever handed out; a Last-Event-ID above it is not from this database. */
  head: number;
  /** Changes to replay, counted up to `limit + 1`. */
  pending: number;
}

/**
 * Where a hub starts: before the changes of the last `lookbackMs`, so that ids still missing then
 * (transactions in flight) are waited for like any gap; with no recent change, after the last one.
 */
const startCursor = statement<{ lookbackMs: number }, { cursor: number }>(
  'stream_start_cursor',
  `select coalesce(
     (select min(id) - 1 from deployment_changes where changed_at > now() - make_interval(secs => :lookbackMs::float8 / 1000)),
     (select max(id) from deployment_changes),
     0)::bigint as cursor`,
);

/**
 * The live reader's poll, run by every hub on every wake-up: the changes after `after` in id order,
 * with the statement's own snapshot bounds (the same snapshot the rows were read with: see
 * stream-cursor.ts for what they prove). One row with null columns when there is no change. Each
 * change carries its project's owner (a primary-key probe per row), for the all-projects streams of
 * a user's token.
 *
 * The upper bound is the first xid not yet assigned, read after the snapshot was taken, not
 * pg_snapshot_xmax: that is one past the last *completed* xid, and a transaction that got its xid
 * after the one that committed last (and took a lower change id) is still running above it.
 * `age(xid)` is the distance from that next xid (without assigning one to this reader), so the next
 * xid is xmin + age(xmin), xmin taken to its 32 bits for age().
 */
const readAfter = statement<
  { after: number; limit: number },
  Omit<LiveChangeRow, 'id'> & { id: number | null; xmin: string; xmax: string }
>(
  'stream_read_after',
  `select s.xmin::text as xmin, (s.xmin + age((s.xmin % 4294967296)::text::xid))::text as xmax, c.*
   from (select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as xmin) s
   left join lateral (
     select ch.id, ch.deployment_id, ch.project_id, ch.status, ch.deployed_in, ch.created_at, ch.updated_at, p.user_id
     from deployment_changes ch left join projects p on p.id = ch.project_id
     where ch.id > :after order by ch.id limit :limit) c on true
   order by c.id`,
);

/** The change columns of a read row (an allow-list: the snapshot bounds stay out). */
const liveChange = (r: LiveChangeRow): LiveChangeRow => ({
  id: r.id,
  deployment_id: r.deployment_id,
  project_id: r.project_id,
  status: r.status,
  deployed_in: r.deployed_in,
  created_at: r.created_at,
  updated_at: r.updated_at,
  user_id: r.user_id,
});

interface ReplayRange {
  after: number;
  upTo: number;
  projectId: number | null;
  /** Only the changes of that user's projects (null: everyone's). */
  owner: number | null;
  limit: number;
}

export function createStreamRepo(db: Knex) {
  /** The changes in (after, upTo], of one project or all (of the owner's, with one). */
  const replayed = ({ after, upTo, projectId, owner }: ReplayRange) => {
    const query = db('deployment_changes').where('id', '>', after).andWhere('id', '<=', upTo);
    if (projectId !== null) query.where('project_id', projectId);
    if (owner !== null) query.whereIn('project_id', db('projects').select('id').where('user_id', owner));
    return query;
  };

  const projects = createProjectsRepo(db);
  return {
    /** Whether the project exists (and, with an owner, is theirs). */
    projectExists: (id: number, owner?: number) => projects.exists(id, owner),

    async startCursor(lookbackMs: number): Promise<number> {
      const { rows } = await startCursor.run(db, { lookbackMs });
      return rows[0]?.cursor ?? 0;
    },

    async readAfter(after: number, limit: number): Promise<{ rows: LiveChangeRow[]; snapshot: Snapshot }> {
      const { rows } = await readAfter.run(db, { after, limit });
      const first = rows[0]!;
      return {
        snapshot: { xmin: BigInt(first.xmin), xmax: BigInt(first.xmax) },
        rows: rows.filter((r): r is typeof r & { id: number } => r.id !== null).map(liveChange),
      };
    },

    /** The oldest change kept, the highest id handed out, and how many changes the range holds (counted up to `limit + 1`). */
    async replayInfo(range: ReplayRange): Promise<ReplayInfo> {
      const row = await db
        .select({
          oldest: db('deployment_changes').min('id'),
          head: db('deployment_changes_id_seq').select(db.raw('case when is_called then last_value else 0 end')),
          pending: db.count('*').from(
            replayed(range)
              .select(db.raw('1'))
              .limit(range.limit + 1)
              .as('x'),
          ),
        })
        .first<ReplayInfo>();
      return row;
    },

    /** The changes in (after, upTo], of one project or all (of the owner's, with one), in id order. */
    async replayPage(range: ReplayRange): Promise<ChangeRow[]> {
      return replayed(range).select(COLUMNS).orderBy('id').limit(range.limit);
    },

    /** Deletes up to `chunk` changes older than `olderThanMs`; returns how many. */
    async purge(olderThanMs: number, chunk: number): Promise<number> {
      return db('deployment_changes')
        .whereIn(
          'id',
          db('deployment_changes')
            .select('id')
            .where('changed_at', '<', db.raw('now() - make_interval(secs => :olderThanMs::float8 / 1000)', { olderThanMs }))
            .orderBy('changed_at')
            .limit(chunk),
        )
        .delete();
    },
  };
}

export type StreamRepo = ReturnType<typeof createStreamRepo>;
