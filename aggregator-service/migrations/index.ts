import type { Migration } from '@hosting/shared';
import * as events from './20261120000100_events.js';
import * as rateLimits from './20261203000100_rate_limits.js';

/** Every migration of the aggregator database, in order. Add new ones at the end. */
export const migrations: readonly Migration[] = [
  { name: '20261120000100_events', ...events },
  { name: '20261203000100_rate_limits', ...rateLimits },
];
