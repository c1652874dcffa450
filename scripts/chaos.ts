import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, startEmbeddedDb } from '@hosting/shared';
import { formatReport, runChaosCheck } from './chaos-check.js';

/**
 * `npm run chaos [-- --actions 3000 --down-seconds 60 --fail-rate 0.03 --reset-rate 0.02]`:
 * the delivery proof of the test suite at a larger size, on a throw-away embedded PostgreSQL
 * (your data is not touched). Exits 1 if any event was lost or duplicated.
 */
const { values } = parseArgs({
  options: {
    actions: { type: 'string', default: '3000' },
    'down-seconds': { type: 'string', default: '60' },
    'fail-rate': { type: 'string', default: '0.03' },
    'reset-rate': { type: 'string', default: '0.02' },
    relays: { type: 'string', default: '2' },
  },
  strict: true,
});
const actions = Number(values.actions);
const say = (line: string) => process.stdout.write(`${line}\n`);

const server = await startEmbeddedDb({
  dataDir: path.join(os.tmpdir(), `hosting-chaos-${process.pid}`),
  port: await freePort(),
  persistent: false,
  postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off'],
});
try {
  await server.ensureDatabase('chaos_project');
  await server.ensureDatabase('chaos_aggregator');
  say(
    `chaos: ${actions} actions, aggregator down ${values['down-seconds']} s in the middle, ${Number(values['fail-rate']) * 100}% 500s and ${Number(values['reset-rate']) * 100}% resets on the wire, ${values.relays} relays`,
  );
  const report = await runChaosCheck({
    projectDbUrl: server.url('chaos_project'),
    aggregatorDbUrl: server.url('chaos_aggregator'),
    actions,
    concurrency: 16,
    failRate: Number(values['fail-rate']),
    resetRate: Number(values['reset-rate']),
    latencyMs: [0, 20],
    relays: Number(values.relays),
    batchSize: 50,
    downAfterActions: Math.floor(actions / 3),
    downMs: Number(values['down-seconds']) * 1000,
    drainTimeoutMs: 120_000,
    seed: 3,
    log: say,
  });
  say('');
  say(formatReport(report));
  const ok = report.lost === 0 && report.extra === 0 && report.duplicated === 0 && report.failedActions === 0;
  say(ok ? '\nOK: every event the outbox promised is stored exactly once.' : '\nFAILED: see above.');
  process.exitCode = ok ? 0 : 1;
} finally {
  await server.stop();
}
