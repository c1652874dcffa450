import type { Knex } from '@hosting/shared';

/**
 * The benchmark's data, made by PostgreSQL itself (generate_series), so a million rows take
 * seconds: users, projects (each with a known app secret: `secret-<id>`, stored as its SHA-256
 * like every secret), deployments with a realistic status mix spread over two years, and events.
 */
export interface DataSize {
  users: number;
  projects: number;
  deployments: number;
  events: number;
}

export const FULL: DataSize = { users: 1_000, projects: 10_000, deployments: 1_000_000, events: 1_000_000 };
export const QUICK: DataSize = { users: 20, projects: 200, deployments: 20_000, events: 20_000 };

/**
 * User 1 is the heavy user of the statistics target: it owns the first tenth of the projects, so
 * a tenth of the deployments (100,000 at full size); the other users share the rest evenly.
 */
export const HEAVY_USER = 1;
export const heavyUserDeployments = (size: DataSize) => Math.floor(size.deployments / 10);
/** The owner of project `p` (SQL over an integer expression `p`; parameters :projects and :users). */
const OWNER = (p: string) => `case when ${p} <= :projects::int / 10 then 1 else 2 + (${p} % (:users::int - 1)) end`;

export async function generateProjectData(db: Knex, size: DataSize): Promise<void> {
  await db.raw(
    `
    insert into users (id, email, username, created_at)
    select i, 'user' || i || '@bench.example', 'user' || i, now() - interval '3 years'
    from generate_series(1::bigint, :users::bigint) as i`,
    { users: size.users },
  );
  await db.raw(
    `
    insert into projects (id, name, url, user_id, app_secret_sha256, created_at)
    select i, 'project-' || i, null, ${OWNER('i')}, sha256(('secret-' || i)::bytea), now() - interval '2 years'
    from generate_series(1::bigint, :projects::bigint) as i`,
    { projects: size.projects, users: size.users },
  );
  // Status mix: 80% done, 8% failed, 5% cancelled, and 7% in progress (pending/building/deploying),
  // the in-progress ones among the most recent, as on a real platform.
  await db.raw(
    `
    insert into deployments (project_id, status, deployed_in, created_at, updated_at)
    select p, s, case when s = 'done' then 20 + (i % 300) end, t, t + interval '5 minutes'
    from (
      select i, 1 + (i * 7919) % :projects::int as p,
             now() - make_interval(secs => (:deployments::int - i) * (63072000.0 / :deployments::int)) as t,
             case
               when i > :deployments::int * 0.93 then (array['pending', 'building', 'deploying'])[1 + i % 3]
               when i % 100 < 80 then 'done'
               when i % 100 < 88 then 'failed'
               else 'cancelled'
             end as s
      from generate_series(1::bigint, :deployments::bigint) as i
    ) g`,
    { projects: size.projects, deployments: size.deployments },
  );
  // The live stream's change log (deployment_changes) is for recent changes only: the generated
  // history is not something a reconnecting client would replay.
  await db.raw('truncate deployment_changes');
  // Mark the projects that have a done deployment as live, as the webhook would have.
  await db.raw(
    `update projects set url = 'https://project-' || id || '.bench.example' where exists (select 1 from deployments d where d.project_id = projects.id and d.status = 'done')`,
  );
  for (const table of ['users', 'projects', 'deployments']) {
    await db.raw(`select setval(pg_get_serial_sequence('${table}', 'id'), (select max(id) from ${table}))`);
  }
  // As autovacuum would soon after a load: statistics, and the visibility map for index-only scans.
  await db.raw('vacuum analyze users, projects, deployments, deployment_counts');
}

export async function generateAggregatorData(db: Knex, size: DataSize, projects: number, users: number): Promise<void> {
  await db.raw(
    `
    insert into events (event_id, name, payload, occurred_at, project_id, deployment_id, user_id)
    select gen_random_uuid(), n, jsonb_build_object('projectId', p, 'projectName', 'project-' || p, 'userId', u,
             'deploymentId', d, 'source', 'webhook', 'requestId', null, 'from', 'building', 'to', 'deploying', 'deployedIn', null),
           t, p, d, u
    from (
      select i, p, ${OWNER('p')} as u, 1 + i / 3 as d,
             (array['deployment.created', 'deployment.status_changed', 'deployment.succeeded'])[1 + i % 3] as n,
             now() - make_interval(secs => (:events::int - i) * (63072000.0 / :events::int)) as t
      from generate_series(1::bigint, :events::bigint) as i, lateral (select (1 + (i * 7919) % :projects::int)::int as p) pp
    ) g`,
    { projects, users, events: size.events },
  );
  await db.raw('vacuum analyze events');
}
