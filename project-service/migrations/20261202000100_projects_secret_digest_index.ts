import type { Knex } from 'knex';

/**
 * The webhook finds the project by its app secret's digest before it looks at the deployment id
 * (`findForSecret` in deployments.repo.ts), so that a wrong secret takes the same path whatever the id. This
 * index makes that first step one index probe. Not unique: secrets are 24 random bytes, so two equal
 * digests do not happen, and the lookup stays correct if they did (the deployment must belong to
 * the project found). Not `concurrently`: migrations run in a transaction before the service starts.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create index projects_app_secret_sha256 on projects (app_secret_sha256)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index projects_app_secret_sha256`);
}
