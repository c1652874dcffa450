/**
 * The types every feature of project-service speaks in: who caused a change, and whose data a
 * request may touch. They belong to no one feature (projects, deployments, webhooks and the events
 * all carry them), so they live here rather than in one feature's repository.
 */

/** Who caused a change, carried into every event it writes. */
export interface Cause {
  source: 'api' | 'webhook';
  requestId: string | null;
}

/**
 * Whose data a request may see and change: `undefined` for everyone's (the service token, an
 * admin token), a user id for a user's token. Repositories take it as an optional owner filter in
 * their SQL, so another user's row is simply not found: the same 404, byte for byte, as a missing
 * one (no 403 to tell a guesser that the id exists).
 */
export type Owner = number | undefined;
