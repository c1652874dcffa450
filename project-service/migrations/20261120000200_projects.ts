import type { Knex } from 'knex';

/**
 * Projects belong to a user. The app secret that CI systems present to the webhook is kept only
 * as its SHA-256 digest: it is a long random value, so a fast hash is enough to make a leaked
 * table useless for calling the webhook (see WRITEUP.md, "Secrets").
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('projects', (t) => {
    t.increments('id').primary();
    t.text('name').notNullable();
    t.text('url').nullable().unique();
    t.integer('user_id').notNullable().references('id').inTable('users').onDelete('RESTRICT');
    t.binary('app_secret_sha256').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['user_id', 'id']);
  });
  await knex.raw(`alter table projects add constraint projects_name_not_blank check (length(btrim(name)) > 0)`);
  await knex.raw(`alter table projects add constraint projects_secret_digest_length check (octet_length(app_secret_sha256) = 32)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('projects');
}
