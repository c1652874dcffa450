import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { runChaosCheck } from '../scripts/chaos-check.js';

/**
 * The delivery guarantee, proved over real HTTP between the real apps: whatever the network or
 * the aggregator does, the aggregator ends with exactly one event per outbox event.
 */
let project: TestDatabase;
let aggregator: TestDatabase;
beforeEach(async () => {
  [project, aggregator] = await Promise.all([createTestDatabase('project'), createTestDatabase('aggregator')]);
});
afterEach(async () => {
  await Promise.all([project.drop(), aggregator.drop()]);
});

const urls = () => ({ projectDbUrl: project.url, aggregatorDbUrl: aggregator.url });

it('chaos: 3% 500s, resets and latency between relay and aggregator lose and duplicate nothing', async () => {
  const report = await runChaosCheck({
    ...urls(),
    actions: 400,
    failRate: 0.03,
    resetRate: 0.03,
    latencyMs: [0, 15],
    batchSize: 5,
    seed: 3,
  });
  expect(report.failedActions).toBe(0);
  expect(report.expected).toBeGreaterThan(400);
  // The faults really happened, some before the aggregator saw the batch, some after it stored it.
  expect(report.proxy.faultsBeforeForwarding).toBeGreaterThan(0);
  expect(report.proxy.failed + report.proxy.reset).toBeGreaterThan(report.proxy.faultsBeforeForwarding);
  expect(report.resent).toBeGreaterThan(0);
  expect(report).toMatchObject({ lost: 0, extra: 0, duplicated: 0 });
  expect(report.stored).toBe(report.expected);
}, 60_000);

it('outage: actions made while the aggregator is down all arrive once it is back', async () => {
  const report = await runChaosCheck({ ...urls(), actions: 150, downAfterActions: 20, downMs: 2_000, seed: 3 });
  expect(report.failedActions).toBe(0);
  expect(report).toMatchObject({ lost: 0, extra: 0, duplicated: 0 });
  expect(report.lagMs.max).toBeGreaterThan(500); // some events really waited for the aggregator
}, 60_000);

it('two relays on one outbox: every event stored once, and none sent twice', async () => {
  const report = await runChaosCheck({ ...urls(), actions: 300, relays: 2, concurrency: 12, seed: 5 });
  expect(report).toMatchObject({ lost: 0, extra: 0, duplicated: 0, resent: 0 });
  expect(report.stored).toBe(report.expected);
}, 60_000);

it('a healthy aggregator gets each event as the relay is woken by NOTIFY, without waiting for a poll', async () => {
  // The relay's poll (OUTBOX_POLL_MS's maximum, a minute) is beyond the drain's 30 s: every event it
  // delivers, it was woken for by the outbox's NOTIFY. How soon that is belongs to the benchmark's delivery phase, not to a machine-speed bound here.
  const report = await runChaosCheck({
    ...urls(),
    actions: 200,
    seed: 9,
    pollMs: 60_000,
    pokeWhileDraining: false,
    drainTimeoutMs: 30_000,
  });
  expect(report).toMatchObject({ lost: 0, extra: 0, duplicated: 0 });
  expect(report.stored).toBe(report.expected);
}, 60_000);
