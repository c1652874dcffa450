import type { DeploymentStatus } from '@hosting/shared';

export { DEPLOYMENT_STATUSES, type DeploymentStatus } from '@hosting/shared';

/**
 * The deployment state machine, as one pure table. Where is the rule that a cancelled deployment
 * cannot become done? Here.
 *
 *   pending → building → deploying → done      (a sender may skip forward: pending → done)
 *   any non-terminal → failed | cancelled
 *   done, failed, cancelled are terminal
 */
const PROGRESS: Readonly<Record<DeploymentStatus, number | null>> = {
  pending: 0,
  building: 1,
  deploying: 2,
  done: 3,
  failed: null,
  cancelled: null,
};

export const TERMINAL: ReadonlySet<DeploymentStatus> = new Set(['done', 'failed', 'cancelled']);
export const ONGOING: readonly DeploymentStatus[] = ['pending', 'building', 'deploying'];

export function isTerminal(status: DeploymentStatus): boolean {
  return TERMINAL.has(status);
}

/**
 * What a webhook reporting `to` does to a deployment in `from`:
 * - `apply`: the transition happens;
 * - `same`: it is already there (a duplicate delivery): 200, nothing changes;
 * - `stale`: `to` is behind `from` (deliveries arrive out of order): 200, nothing changes;
 * - `conflict`: it would leave a terminal status: 409, nothing changes.
 */
export type WebhookOutcome = 'apply' | 'same' | 'stale' | 'conflict';

export function webhookOutcome(from: DeploymentStatus, to: DeploymentStatus): WebhookOutcome {
  if (from === to) return 'same';
  if (isTerminal(from)) return 'conflict';
  const a = PROGRESS[from];
  const b = PROGRESS[to];
  if (b === null) return 'apply'; // failed / cancelled from any non-terminal status
  return a !== null && b > a ? 'apply' : 'stale';
}

/**
 * What a cancel request does: `apply` from an ongoing status, `same` when already cancelled
 * (200, nothing changes), `refuse` when done or failed (the contract's 400).
 */
export type CancelOutcome = 'apply' | 'same' | 'refuse';

export function cancelOutcome(from: DeploymentStatus): CancelOutcome {
  if (from === 'cancelled') return 'same';
  return isTerminal(from) ? 'refuse' : 'apply';
}
