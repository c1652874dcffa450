import type { Knex } from 'knex';

/**
 * Deployments of a project. The check constraints hold the rules the database can hold by itself:
 * a known status, and `deployed_in` present exactly when the deployment is done. The partial
 * indexes serve the project flags (one probe per listed project) and the status filter.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('deployments', (t) => {
    t.increments('id').primary();
    t.integer('project_id').notNullable().references('id').inTable('projects').onDelete('CASCADE');
    t.text('status').notNullable().defaultTo('pending');
    t.integer('deployed_in').nullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    alter table deployments
      add constraint deployments_status_known
        check (status in ('pending', 'building', 'deploying', 'done', 'failed', 'cancelled')),
      add constraint deployments_deployed_in_when_done
        check ((status = 'done') = (deployed_in is not null) and coalesce(deployed_in, 0) >= 0)
  `);
  await knex.raw(`create index deployments_project_id_id on deployments (project_id, id)`);
  await knex.raw(`create index deployments_status_id on deployments (status, id)`);
  await knex.raw(`
    create index deployments_ongoing_by_project on deployments (project_id)
      where status in ('pending', 'building', 'deploying')`);
  await knex.raw(`create index deployments_done_by_project on deployments (project_id) where status = 'done'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('deployments');
}
