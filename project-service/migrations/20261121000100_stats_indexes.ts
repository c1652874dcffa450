import type { Knex } from 'knex';

/**
 * User statistics (`GET /users/:id/stats`) count a user's deployments by `created_at` range, project
 * by project. This index makes that an index-only range scan per project: `created_at` bounds the
 * scan, `status` (included, not a key column) tells `done` apart without visiting the table. The
 * projects of a user come from `projects (user_id, id)`. Not `concurrently`: migrations run in a
 * transaction before the service starts (see WRITEUP.md for a live database).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create index deployments_project_id_created_at on deployments (project_id, created_at) include (status)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index deployments_project_id_created_at`);
}
