import { statement, type Knex } from '@hosting/shared';
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
 * deployments that order is the difference between a millisecond and a hundred.
 */
const FLAGS = 'f.has_ongoing, f.has_live';
const FLAGS_JOIN = `cross join lateral (
           select coalesce(sum(c.n) filter (where c.status in ('pending', 'building', 'deploying')), 0) > 0 as has_ongoing,
                  coalesce(sum(c.n) filter (where c.status = 'done'), 0) > 0 as has_live
           from deployment_counts c where c.project_id = p.id) f`;

const VISIBLE = 'p.id, p.name, p.url, p.user_id, p.created_at';

/** A page of projects in id order with its flags and `total`; the ids step may be narrowed by `idsWhere`. */
function pageSql(idsWhere: string, total: string): string {
  return `with ids as (select id from projects ${idsWhere}order by id limit :limit offset :offset),
         page as (select projects.* from projects join ids using (id))
         select ${total} as total, ${VISIBLE}, ${FLAGS}
         from (select 1) as one left join page as p on true ${FLAGS_JOIN}
         order by p.id`;
}

type PageRow = ProjectView & { total: number; id: number | null };

/**
 * The page's rows and the total (one row even past the end). The offset is skipped in the primary
 * key alone (an index-only scan); only the page's 8 rows are read from the table, where `select *`
 * read every skipped row (WRITEUP.md, Performance at a million deployments). The total is the sum
 * of the trigger-kept counters (migration project_counts), exact and a row or two to read;
 * `count(*)` was half the page.
 */
const page = statement<{ limit: number; offset: number }, PageRow>(
  'projects_page',
  pageSql('', '(select coalesce(sum(n), 0) from project_counts)'),
);
/** For a user's token: as `page`, over that user's projects only (served by `projects (user_id, id)`). */
const pageOfOwner = statement<{ limit: number; offset: number; owner: number }, PageRow>(
  'projects_page_of_owner',
  pageSql('where user_id = :owner ', '(select count(*) from projects where user_id = :owner)'),
);
const byId = statement<{ id: number }, ProjectView>(
  'projects_by_id',
  `select ${VISIBLE}, ${FLAGS} from projects p ${FLAGS_JOIN} where p.id = :id`,
);
/** For a user's token: the project only if it is theirs. */
const byIdOfOwner = statement<{ id: number; owner: number }, ProjectView>(
  'projects_by_id_of_owner',
  `select ${VISIBLE}, ${FLAGS} from projects p ${FLAGS_JOIN} where p.id = :id and p.user_id = :owner`,
);
/**
 * The project and when its secret changed, or no row. The new digest and the
 * `project.secret_rotated` event in one statement; the event carries neither the secret nor its
 * digest. `rotatedAt` is the database clock at millisecond precision, the same value in the event
 * and in the answer. (The event's insert wakes the relays: trigger outbox_notify.)
 */
const rotateSecret = statement<{ id: number; digest: Buffer; source: string; requestId: string | null }, { id: number; rotated_at: Date }>(
  'projects_rotate_secret',
  `with p as (
     update projects set app_secret_sha256 = :digest::bytea where id = :id
     returning id, name, user_id, date_trunc('milliseconds', now()) as rotated_at),
   ev as (
     insert into outbox (event_id, name, payload, occurred_at)
     select gen_random_uuid(), 'project.secret_rotated',
            jsonb_build_object('projectId', p.id, 'projectName', p.name, 'userId', p.user_id,
              'source', :source::text, 'requestId', :requestId::text,
              'rotatedAt', to_char(p.rotated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
            p.rotated_at
     from p)
   select id, rotated_at from p`,
);

/** The activity feed asks on every request (a measured endpoint), so it is a prepared statement. */
const exists = statement<{ id: number }, { found: boolean }>(
  'projects_exists',
  'select exists (select 1 from projects where id = :id) as found',
);
const existsOfOwner = statement<{ id: number; owner: number }, { found: boolean }>(
  'projects_exists_of_owner',
  'select exists (select 1 from projects where id = :id and user_id = :owner) as found',
);

export function createProjectsRepo(db: Knex) {
  /** Projects with more than `threshold` deployments in progress at once (served by the partial index on ongoing deployments). */
  const busyProjects = (threshold: number) =>
    db('deployments')
      .select('project_id')
      .count({ ongoing: '*' })
      .whereIn('status', ['pending', 'building', 'deploying'])
      .groupBy('project_id')
      .havingRaw('count(*) > ?', [threshold]);

  return {
    /** One page in id order with its flags, and the total, in one statement (one row even past the end). */
    async page(limit: number, offset: number, owner?: number): Promise<{ total: number; projects: ProjectView[] }> {
      const { rows } = owner === undefined ? await page.run(db, { limit, offset }) : await pageOfOwner.run(db, { limit, offset, owner });
      const total = rows[0]?.total ?? 0;
      return { total, projects: rows.filter((r) => r.id !== null) };
    },

    async findById(id: number, owner?: number): Promise<ProjectView | undefined> {
      const { rows } = owner === undefined ? await byId.run(db, { id }) : await byIdOfOwner.run(db, { id, owner });
      return rows[0];
    },

    /** Whether the project exists (and, with an owner, is theirs): the activity feed and the live stream ask before serving it. */
    async exists(id: number, owner?: number): Promise<boolean> {
      const { rows } = owner === undefined ? await exists.run(db, { id }) : await existsOfOwner.run(db, { id, owner });
      return rows[0]?.found === true;
    },

    /** Replaces the project's app secret digest and records it (see rotateSecret above); undefined for an unknown project. */
    async rotateSecret(id: number, digest: Buffer, cause: Cause): Promise<{ id: number; rotated_at: Date } | undefined> {
      const { rows } = await rotateSecret.run(db, { id, digest, source: cause.source, requestId: cause.requestId });
      return rows[0];
    },

    /**
     * Projects with more than `threshold` deployments in progress at once, busiest first (for an
     * operator: a stuck CI or a loop).
     */
    async busy(threshold: number, limit = 100): Promise<Array<{ id: number; name: string; user_id: number; ongoing: number }>> {
      return db
        .select('p.id', 'p.name', 'p.user_id', 'b.ongoing')
        .from(busyProjects(threshold).as('b'))
        .join('projects as p', 'p.id', 'b.project_id')
        .orderBy([{ column: 'b.ongoing', order: 'desc' }, 'p.id'])
        .limit(limit);
    },

    async countBusy(threshold: number): Promise<number> {
      const row = await db.count({ n: '*' }).from(busyProjects(threshold).as('b')).first<{ n: number } | undefined>();
      return row?.n ?? 0;
    },
  };
}

export type ProjectsRepo = ReturnType<typeof createProjectsRepo>;
