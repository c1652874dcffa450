import { rateLimitsMigration } from '@hosting/shared';

/**
 * The rate limits' counts shared by every replica (RATE_LIMIT_STORE=postgres). The table's shape is
 * the one rate-limiter-flexible reads and writes, so it is written once, beside the store that uses
 * it (shared/src/http/limits/postgres-store.ts), for both services' databases.
 */
export const { up, down } = rateLimitsMigration;
