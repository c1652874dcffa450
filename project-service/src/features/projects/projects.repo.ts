import type { Knex } from '@hosting/shared';
import type { Cause } from '../deployments/deployments.repo.js';

/** A project as the API shows it: the row without its secret, plus the two flags. */
export interface ProjectView {
  id: number;
  name: string;
  url: string | null;
  user_id: number;
  created_at: Date;
  has_ongoing: boolean;
  has_live: boolean;
}

/**
 * The flags, computed per project row from the trigger-kept deployment counters (migration
 * deployment_counts: exact in every snapshot, a few rows per project and status): one range scan
 * of a 60,000-row index per project instead of two probes of the million-row deployments table's
 * partial indexes. Joined to rows that are already limited to a page, never before: at a million
 * deployments that order is the difference between a millisecond and a hundred. Exported so the
 * benchmark can time the page without them.
 */
export const PROJECT_FLAGS_SQL = {
  columns: 'f.has_ongoing, f.has_live',
  join: `cross join lateral (
           select coalesce(sum(c.n) filter (where c.status in ('pending', 'building', 'deploying')), 0) > 0 as has_ongoing,
                  coalesce(sum(c.n) filter (where c.status = 'done'), 0) > 0 as has_live
           from deployment_counts c where c.project_id = p.id) f`,
} as const;
const FLAGS = PROJECT_FLAGS_SQL.columns;
const FLAGS_JOIN = PROJECT_FLAGS_SQL.join;

const VISIBLE = 'p.id, p.name, p.url, p.user_id, p.created_at';

/** A page of projects in id order with its flags and `total`; the ids step may be narrowed by `idsWhere`. */
function pageSql(idsWhere: string, total: string): string {
  return `with ids as (select id from projects ${idsWhere}order by id limit ? offset ?),
         page as (select projects.* from projects join ids using (id))
         select ${total} as total, ${VISIBLE}, ${FLAGS}
         from (select 1) as one left join page as p on true ${FLAGS_JOIN}
         order by p.id`;
}

/** The statements, exported so that the benchmark's bare baseline server runs exactly these. */
export const PROJECTS_SQL = {
  /**
   * [limit, offset] → the page's rows and the total (one row even past the end). The offset is
   * skipped in the primary key alone (an index-only scan); only the page's 8 rows are read from
   * the table. Skipping it with `select *` read every skipped row from the table: 3.5 ms of the
   * database per page at 10,000 projects. The total is the sum of the trigger-kept counters
   * (migration project_counts), exact and a row or two to read; `count(*)` was half the page.
   */
  page: pageSql('', '(select coalesce(sum(n), 0) from project_counts)'),
  /** [id] */
  byId: `select ${VISIBLE}, ${FLAGS} from projects p ${FLAGS_JOIN} where p.id = ?`,
  /** For a user's token: [owner, limit, offset, owner] → as `page`, over that user's projects only (served by `projects (user_id, id)`). */
  pageOfOwner: pageSql('where user_id = ? ', '(select count(*) from projects where user_id = ?)'),
  /** For a user's token: [id, owner] → the project only if it is theirs. */
  byIdOfOwner: `select ${VISIBLE}, ${FLAGS} from projects p ${FLAGS_JOIN} where p.id = ? and p.user_id = ?`,
  /**
   * [digest, id, source, requestId] → the project and when its secret changed, or no row. The new
   * digest and the `project.secret_rotated` event in one statement; the event carries neither the
   * secret nor its digest. `rotatedAt` is the database clock at millisecond precision, the same
   * value in the event and in the answer.
   */
  rotateSecret: `with p as (
           update projects set app_secret_sha256 = ?::bytea where id = ?
           returning id, name, user_id, date_trunc('milliseconds', now()) as rotated_at),
         ev as (
           insert into outbox (event_id, name, payload, occurred_at)
           select gen_random_uuid(), 'project.secret_rotated',
                  jsonb_build_object('projectId', p.id, 'projectName', p.name, 'userId', p.user_id,
                    'source', ?::text, 'requestId', ?::text,
                    'rotatedAt', to_char(p.rotated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
                  p.rotated_at
           from p)
         select id, rotated_at from p`,
} as const;

export function createProjectsRepo(db: Knex) {
  return {
    /** One page in id order with its flags, and the total, in one statement (one row even past the end). */
    async page(limit: number, offset: number, owner?: number): Promise<{ total: number; projects: ProjectView[] }> {
      type Row = ProjectView & { total: number; id: number | null };
      const { rows } =
        owner === undefined
          ? await db.raw<{ rows: Row[] }>(PROJECTS_SQL.page, [limit, offset])
          : await db.raw<{ rows: Row[] }>(PROJECTS_SQL.pageOfOwner, [owner, limit, offset, owner]);
      const total = rows[0]?.total ?? 0;
      return { total, projects: rows.filter((r) => r.id !== null) };
    },

    async findById(id: number, owner?: number): Promise<ProjectView | undefined> {
      const { rows } =
        owner === undefined
          ? await db.raw<{ rows: ProjectView[] }>(PROJECTS_SQL.byId, [id])
          : await db.raw<{ rows: ProjectView[] }>(PROJECTS_SQL.byIdOfOwner, [id, owner]);
      return rows[0];
    },

    /** Replaces the project's app secret digest and records it (see PROJECTS_SQL.rotateSecret); undefined for an unknown project. */
    /** Whether the project exists (and, with an owner, is theirs): the activity feed and the live stream ask before serving it. */
    async exists(id: number, owner?: number): Promise<boolean> {
      const { rows } =
        owner === undefined
          ? await db.raw<{ rows: Array<{ found: boolean }> }>('select exists (select 1 from projects where id = ?) as found', [id])
          : await db.raw<{ rows: Array<{ found: boolean }> }>(
              'select exists (select 1 from projects where id = ? and user_id = ?) as found',
              [id, owner],
            );
      return rows[0]?.found === true;
    },

    async rotateSecret(id: number, digest: Buffer, cause: Cause): Promise<{ id: number; rotated_at: Date } | undefined> {
      const { rows } = await db.raw<{ rows: Array<{ id: number; rotated_at: Date }> }>(PROJECTS_SQL.rotateSecret, [
        digest,
        id,
        cause.source,
        cause.requestId,
      ]);
      return rows[0];
    },

    /**
     * Projects with more than `threshold` deployments in progress at once, busiest first (for an
     * operator: a stuck CI or a loop). Served by the partial index on ongoing deployments.
     */
    async busy(threshold: number, limit = 100): Promise<Array<{ id: number; name: string; user_id: number; ongoing: number }>> {
      const { rows } = await db.raw<{ rows: Array<{ id: number; name: string; user_id: number; ongoing: number }> }>(
        `select p.id, p.name, p.user_id, b.ongoing
         from (select project_id, count(*) as ongoing from deployments
               where status in ('pending', 'building', 'deploying')
               group by project_id having count(*) > ?) b
         join projects p on p.id = b.project_id
         order by b.ongoing desc, p.id limit ?`,
        [threshold, limit],
      );
      return rows;
    },

    async countBusy(threshold: number): Promise<number> {
      const { rows } = await db.raw<{ rows: Array<{ n: number }> }>(
        `select count(*) as n from (select project_id from deployments
           where status in ('pending', 'building', 'deploying') group by project_id having count(*) > ?) b`,
        [threshold],
      );
      return rows[0]?.n ?? 0;
    },
  };
}

export type ProjectsRepo = ReturnType<typeof createProjectsRepo>;
