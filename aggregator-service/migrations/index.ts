import type { Migration } from '@hosting/shared';

/** Every migration of the aggregator database, in order. Add new ones at the end. */
export const migrations: readonly Migration[] = [];
