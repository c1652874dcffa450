import type { Migration } from '@hosting/shared';
import * as events from './20261120000100_events.js';

/** Every migration of the aggregator database, in order. Add new ones at the end. */
export const migrations: readonly Migration[] = [{ name: '20261120000100_events', ...events }];
