import type { Knex } from '@hosting/shared';

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
 * The flags, computed per project row by two index probes (the partial indexes on deployments).
 * Used on rows that are already limited to a page, never before: at a million deployments that
 * order is the difference between a millisecond and a hundred.
 */
const FLAGS = `
  exists (select 1 from deployments d where d.project_id = p.id and d.status in ('pending', 'building', 'deploying')) as has_ongoing,
  exists (select 1 from deployments d where d.project_id = p.id and d.status = 'done') as has_live`;

const VISIBLE = 'p.id, p.name, p.url, p.user_id, p.created_at';

export function createProjectsRepo(db: Knex) {
  return {
    /** One page in id order with its flags, and the total, in one statement (one row even past the end). */
    async page(limit: number, offset: number): Promise<{ total: number; projects: ProjectView[] }> {
      const { rows } = await db.raw<{ rows: Array<ProjectView & { total: number; id: number | null }> }>(
        `with page as (select * from projects order by id limit ? offset ?)
         select (select count(*) from projects) as total, ${VISIBLE}, ${FLAGS}
         from (select 1) as one left join page as p on true
         order by p.id`,
        [limit, offset],
      );
      const total = rows[0]?.total ?? 0;
      return { total, projects: rows.filter((r) => r.id !== null) };
    },

    async findById(id: number): Promise<ProjectView | undefined> {
      const { rows } = await db.raw<{ rows: ProjectView[] }>(`select ${VISIBLE}, ${FLAGS} from projects p where p.id = ?`, [id]);
      return rows[0];
    },

    async exists(id: number): Promise<boolean> {
      return (await db('projects').where({ id }).first('id')) !== undefined;
    },
  };
}

export type ProjectsRepo = ReturnType<typeof createProjectsRepo>;
