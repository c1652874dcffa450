import type { Knex } from 'knex';

/**
 * The transactional outbox: every change writes its events here in the same statement or
 * transaction, and the relay delivers them to the aggregator. `next_attempt_at` drives retries
 * with backoff; a row is claimed by pushing `next_attempt_at` past the claim's lease, so a relay
 * that dies mid-batch only delays its rows. A statement trigger wakes relays through NOTIFY.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('outbox', (t) => {
    t.bigIncrements('id').primary();
    t.uuid('event_id').notNullable().unique();
    t.text('name').notNullable();
    t.jsonb('payload').notNullable();
    t.timestamp('occurred_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('delivered_at', { useTz: true }).nullable();
    t.text('last_error').nullable();
  });
  await knex.raw(`create index outbox_undelivered on outbox (next_attempt_at, id) where delivered_at is null`);
  await knex.raw(`create index outbox_delivered_at on outbox (delivered_at) where delivered_at is not null`);
  await knex.raw(`
    create function outbox_notify() returns trigger language plpgsql as $$
    begin
      perform pg_notify('outbox', '');
      return null;
    end $$`);
  await knex.raw(`create trigger outbox_notify after insert on outbox for each statement execute function outbox_notify()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists outbox_notify on outbox');
  await knex.raw('drop function if exists outbox_notify()');
  await knex.schema.dropTable('outbox');
}
