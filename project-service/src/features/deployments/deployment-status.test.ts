import { DEPLOYMENT_STATUSES, cancelOutcome, webhookOutcome, type DeploymentStatus } from './deployment-status.js';

/** The whole table, written out pair by pair: from → to → outcome. */
const EXPECTED: Record<DeploymentStatus, Record<DeploymentStatus, string>> = {
  pending: { pending: 'same', building: 'apply', deploying: 'apply', done: 'apply', failed: 'apply', cancelled: 'apply' },
  building: { pending: 'stale', building: 'same', deploying: 'apply', done: 'apply', failed: 'apply', cancelled: 'apply' },
  deploying: { pending: 'stale', building: 'stale', deploying: 'same', done: 'apply', failed: 'apply', cancelled: 'apply' },
  done: { pending: 'stale', building: 'stale', deploying: 'stale', done: 'same', failed: 'conflict', cancelled: 'conflict' },
  failed: { pending: 'stale', building: 'stale', deploying: 'stale', done: 'conflict', failed: 'same', cancelled: 'conflict' },
  cancelled: { pending: 'stale', building: 'stale', deploying: 'stale', done: 'conflict', failed: 'conflict', cancelled: 'same' },
};

describe('webhook transitions', () => {
  const pairs = DEPLOYMENT_STATUSES.flatMap((from) => DEPLOYMENT_STATUSES.map((to) => [from, to, EXPECTED[from][to]] as const));
  it.each(pairs)('%s → %s is %s', (from, to, outcome) => {
    expect(webhookOutcome(from, to)).toBe(outcome);
  });
});

describe('cancel', () => {
  it.each([
    ['pending', 'apply'],
    ['building', 'apply'],
    ['deploying', 'apply'],
    ['cancelled', 'same'],
    ['done', 'refuse'],
    ['failed', 'refuse'],
  ] as const)('from %s is %s', (from, outcome) => {
    expect(cancelOutcome(from)).toBe(outcome);
  });
});
