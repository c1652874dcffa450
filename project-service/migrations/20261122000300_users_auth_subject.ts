import type { Knex } from 'knex';

/**
 * JWT mode maps an identity provider's token to one of our users (project-service/src/http/identity.repo.ts):
 *  - by `auth_subject`, the provider's `sub` (e.g. `auth0|65a…`), set by an operator to link an
 *    account explicitly; unique, so one subject is one user;
 *  - else by a verified email, compared case-insensitively (providers lower-case addresses, the seed
 *    does not), served by the index on `lower(email)`. Not unique: existing rows may differ only in
 *    case, and such an ambiguous address maps to nobody.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table users add column auth_subject text`);
  await knex.raw(`create unique index users_auth_subject on users (auth_subject)`);
  await knex.raw(`create index users_lower_email on users (lower(email))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`drop index users_lower_email`);
  await knex.raw(`drop index users_auth_subject`);
  await knex.raw(`alter table users drop column auth_subject`);
}
