import type { DeploymentStatus } from '@hosting/shared';

export { DEPLOYMENT_STATUSES, type DeploymentStatus } from '@hosting/shared';

/**
 * The deployment state machine, as one pure table. Where is the rule that a cancelled deployment
 * cannot become done? Here.
 *
 *   pending → building → deploying → done      (a sender may skip forward: pending → done)
 *   any non-terminal → failed | cancelled
 *   done, failed, cancelled are terminal: a later non-final report is stale, another final one a conflict
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
 * What a webhook call did, in one vocabulary for the `X-Webhook-Outcome` header and the
 * `webhook_outcomes_total{outcome}` metric label:
 * - `apply`: the transition happened (200);
 * - `same`: it is already there (a duplicate delivery): 200, nothing changes;
 * - `stale`: `to` is behind `from`, a final status included (deliveries arrive out of order; a
 *   late `building` after `done` is the past, not news): 200, nothing changes;
 * - `conflict`: one final status reported over another (`failed` after `done`, `done` after a
 *   cancel): a real contradiction, 409, nothing changes;
 * - `rejected`: the call never reached the rules (401, 400, 413, 429…): no header, metric only.
 * The first three are the header's values on a 200.
 */
export const WEBHOOK_OUTCOMES = ['apply', 'same', 'stale', 'conflict', 'rejected'] as const;
export type WebhookCallOutcome = (typeof WEBHOOK_OUTCOMES)[number];
export const WEBHOOK_HEADER_OUTCOMES = ['apply', 'same', 'stale'] as const satisfies readonly WebhookCallOutcome[];

/** What the rules decide for a report of `to` on a deployment in `from`. */
export type WebhookOutcome = Exclude<WebhookCallOutcome, 'rejected'>;

export function webhookOutcome(from: DeploymentStatus, to: DeploymentStatus): WebhookOutcome {
  if (from === to) return 'same';
  if (isTerminal(from)) return isTerminal(to) ? 'conflict' : 'stale';
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
