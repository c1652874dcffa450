import type { DeploymentStatus } from '@hosting/shared';

/**
 * The baseline's copies of the services' hot statements, in the repositories' own form (knex named
 * bindings, each parameter named once as `:name`). They are copies, not imports, so that the
 * production repositories export nothing for the benchmark; test/bench-statements.test.ts runs each
 * repository method beside its copy and fails when the two send different SQL or values.
 */

const DEPLOYMENT_COLUMNS = 'id, project_id, status, deployed_in, created_at, updated_at';

/** projects.repo.ts: the flag columns and their lateral join (the flags phase times the page without them). */
export const PROJECT_FLAGS = {
  columns: 'f.has_ongoing, f.has_live',
  join: `cross join lateral (
           select coalesce(sum(c.n) filter (where c.status in ('pending', 'building', 'deploying')), 0) > 0 as has_ongoing,
                  coalesce(sum(c.n) filter (where c.status = 'done'), 0) > 0 as has_live
           from deployment_counts c where c.project_id = p.id) f`,
};

const VISIBLE = 'p.id, p.name, p.url, p.user_id, p.created_at';

/** projects.repo.ts `page`, optionally without the flags. Parameters: limit, offset. */
export function projectPageSql(flags = true): string {
  return `with ids as (select id from projects order by id limit :limit offset :offset),
         page as (select projects.* from projects join ids using (id))
         select (select coalesce(sum(n), 0) from project_counts) as total, ${VISIBLE}${flags ? `, ${PROJECT_FLAGS.columns}` : ''}
         from (select 1) as one left join page as p on true${flags ? ` ${PROJECT_FLAGS.join}` : ''}
         order by p.id`;
}

const EVENT_BASE = `jsonb_build_object(
  'projectId', p.id, 'projectName', p.name, 'userId', p.user_id, 'deploymentId', d.id,
  'source', :source::text, 'requestId', :requestId::text)`;

export const STATEMENTS = {
  /** projects.repo.ts `page`: limit, offset. */
  projectPage: projectPageSql(),
  /** projects.repo.ts `byId`: id. */
  projectById: `select ${VISIBLE}, ${PROJECT_FLAGS.columns} from projects p ${PROJECT_FLAGS.join} where p.id = :id`,
  /** deployments.repo.ts `create`: projectId, source, requestId. */
  createDeployment: `with p as (select id, name, user_id from projects where id = :projectId),
         d as (insert into deployments (project_id) select id from p returning ${DEPLOYMENT_COLUMNS}),
         ev as (
           insert into outbox (event_id, name, payload, occurred_at)
           select gen_random_uuid(), 'deployment.created', ${EVENT_BASE} || jsonb_build_object('status', d.status), d.created_at
           from d join p on p.id = d.project_id)
         select ${DEPLOYMENT_COLUMNS} from d`,
  /** deployments.repo.ts `findForSecret`: id, digest. */
  findForSecret: `select d.id, d.project_id, d.status, d.deployed_in, d.created_at, d.updated_at,
          p.name as project_name, p.url as project_url, p.user_id, p.app_secret_sha256
   from projects p cross join lateral (
     select ${DEPLOYMENT_COLUMNS} from deployments where id = :id and project_id = p.id offset 0) d
   where p.app_secret_sha256 = :digest`,
  /** deployments.repo.ts `transition`: id, from, to, url, source, requestId. */
  transition: `with d as (
     update deployments
     set status = :to::text, updated_at = now(),
         deployed_in = case when :to::text = 'done' then floor(extract(epoch from (now() - created_at)))::int end
     where id = :id and status = :from::text
     returning ${DEPLOYMENT_COLUMNS}),
   p as (select pr.id, pr.name, pr.user_id from projects pr join d on d.project_id = pr.id),
   u as (
     update projects set url = :url::text
     where :url::text is not null and id = (select project_id from d where status = 'done') and url is null
     returning url),
   base as (select ${EVENT_BASE} as fields, d.deployed_in, d.updated_at from d join p on p.id = d.project_id),
   ev as (
     insert into outbox (event_id, name, payload, occurred_at)
     select gen_random_uuid(), e.name, base.fields || e.extra, base.updated_at
     from base cross join lateral (values
       ('deployment.status_changed', jsonb_build_object('from', :from::text, 'to', :to::text, 'deployedIn', base.deployed_in)),
       (case :to::text when 'done' then 'deployment.succeeded' when 'failed' then 'deployment.failed'
                       when 'cancelled' then 'deployment.cancelled' end,
        case :to::text when 'done' then jsonb_build_object('deployedIn', base.deployed_in)
                       else jsonb_build_object('from', :from::text) end)
     ) as e(name, extra)
     where e.name is not null
     union all
     select gen_random_uuid(), 'project.url_assigned', base.fields || jsonb_build_object('url', u.url), base.updated_at
     from base cross join u)
   select d.*, (select url from u) as assigned_url from d`,
  /** events.repo.ts `insertNew`: events (the batch as one JSON array). */
  insertEvents: `insert into events (event_id, name, payload, occurred_at, project_id, deployment_id, user_id)
  select e.event_id, e.name, e.payload, e.occurred_at,
         (e.payload ->> 'projectId')::integer, (e.payload ->> 'deploymentId')::integer, (e.payload ->> 'userId')::integer
  from rows from (jsonb_to_recordset(:events::jsonb) as ("eventId" uuid, name text, payload jsonb, "occurredAt" timestamptz))
       with ordinality as e(event_id, name, payload, occurred_at, ord)
  order by e.ord
  on conflict (event_id) do nothing
  returning event_id`,
};

/** deployments.repo.ts `page` filtered by statuses only (what the baseline serves), with its parameters. */
export function deploymentsPage(
  statuses: readonly DeploymentStatus[],
  limit: number,
  offset: number,
): { sql: string; params: Record<string, unknown> } {
  const distinct = [...new Set(statuses)];
  const names = distinct.map((_, i) => `:status${i}`);
  const clause = names.length > 0 ? `where status in (${names.join(', ')})` : '';
  const source =
    names.length > 1
      ? `(${names.map((s) => `(select ${DEPLOYMENT_COLUMNS} from deployments where status = ${s} order by id limit :upTo)`).join(' union all ')}) s`
      : `deployments ${clause}`;
  const params: Record<string, unknown> = { limit, offset, upTo: offset + limit };
  distinct.forEach((status, i) => (params[`status${i}`] = status));
  return {
    sql: `with page as (select ${DEPLOYMENT_COLUMNS} from ${source} order by id limit :limit offset :offset)
     select (select coalesce(sum(n), 0)::bigint from deployment_counts ${clause}) as total, page.*
     from (select 1) as one left join page on true
     order by page.id`,
    params,
  };
}

/**
 * A statement with `:name` parameters as PostgreSQL's `$n` and its values, for statements run
 * outside knex (the baseline's pg, PREPARE): each name is one `$n`, however often it appears.
 */
export function toPg(sql: string, params: Record<string, unknown>): { text: string; values: unknown[] } {
  const numbers = new Map<string, number>();
  const values: unknown[] = [];
  const text = sql.replace(/(?<!:):(\w+)/g, (match, name: string) => {
    if (!(name in params)) return match;
    let n = numbers.get(name);
    if (n === undefined) {
      numbers.set(name, (n = numbers.size + 1));
      values.push(params[name]);
    }
    return `$${n}`;
  });
  return { text, values };
}
