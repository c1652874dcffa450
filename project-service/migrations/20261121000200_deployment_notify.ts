import type { Knex } from 'knex';

/** Placeholder (issue 5): filled in by its feature. */
export async function up(_knex: Knex): Promise<void> {}

export async function down(_knex: Knex): Promise<void> {}
