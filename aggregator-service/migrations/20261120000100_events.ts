import type { Knex } from 'knex';

/**
 * The event store. `event_id` is the sender's idempotency key: the unique constraint turns
 * at-least-once delivery into exactly-once storage (`insert ... on conflict do nothing`).
 * `project_id`, `deployment_id` and `user_id` are copied out of the payload at insert so that the
 * feeds filter on indexed columns. Every feed reads newest first by (occurred_at, id): one index
 * per filter ends in those two columns, so each page is one backward index range scan.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create table events (
      id            bigint generated always as identity primary key,
      event_id      uuid not null,
      name          text not null,
      payload       jsonb not null,
      occurred_at   timestamptz not null,
      created_at    timestamptz not null default now(),
      project_id    integer null,
      deployment_id integer null,
      user_id       integer null,
      constraint events_event_id_key unique (event_id)
    )`);
  await knex.raw(`create index events_occurred_at_id on events (occurred_at, id)`);
  await knex.raw(`create index events_name_occurred_at_id on events (name, occurred_at, id)`);
  await knex.raw(`create index events_project_occurred_at_id on events (project_id, occurred_at, id) where project_id is not null`);
  await knex.raw(
    `create index events_deployment_occurred_at_id on events (deployment_id, occurred_at, id) where deployment_id is not null`,
  );
  await knex.raw(`create index events_user_occurred_at_id on events (user_id, occurred_at, id) where user_id is not null`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('events');
}
