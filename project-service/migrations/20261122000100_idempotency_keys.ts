import type { Knex } from 'knex';

/**
 * Idempotency keys (`Idempotency-Key` on `POST /projects/:id/deployment`), the way Stripe keeps
 * them: per caller (`scope`, the authenticated principal's key) and key, the fingerprint of the
 * request that first used it, and what that request created, so that a retry gets the same
 * answer and creates nothing. A row is written by the same statement as the deployment and its
 * outbox event, so a key exists exactly when its deployment does. Keys live 24 hours: an older
 * row counts as absent and is replaced; keyed creations purge expired rows as they go
 * (`idempotency_keys_created_at` finds them).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('idempotency_keys', (t) => {
    t.text('scope').notNullable();
    t.text('key').notNullable();
    t.binary('fingerprint').notNullable();
    t.smallint('status_code').notNullable();
    t.jsonb('resource').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['scope', 'key'], { constraintName: 'idempotency_keys_pkey' });
  });
  await knex.raw(`alter table idempotency_keys add constraint idempotency_keys_key_length check (length(key) between 1 and 255)`);
  await knex.raw(`alter table idempotency_keys add constraint idempotency_keys_fingerprint_length check (octet_length(fingerprint) = 32)`);
  await knex.raw(`create index idempotency_keys_created_at on idempotency_keys (created_at)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('idempotency_keys');
}
