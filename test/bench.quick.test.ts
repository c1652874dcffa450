import { spawn } from 'node:child_process';
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The benchmark in quick mode, as `npm run bench -- --quick` runs it (the compiled bench/dist/run.js:
 * `npm test` builds it first with `tsc -b`): it must finish, print the endpoint table and the
 * table of the targets, and write its JSON result. Nothing about speed is asserted; this
 * only keeps the benchmark from rotting.
 */
// A run on a machine busy with the rest of the suite can starve one short load sample; one retry,
// with the first error printed, keeps that from failing the run while a broken benchmark still does.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const ENDPOINTS = [
  'GET /projects?page=N',
  'GET /projects/:id',
  'GET /deployments?page=N&status=…',
  'POST /projects/:id/deployment',
  'POST /deployment/webhook',
  'POST /events (500/batch)',
  'GET /projects/:id/activity',
  'GET /users/:id/stats',
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'bench-quick-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('npm run bench -- --quick: runs every endpoint and phase, prints both tables and writes the result', async () => {
  const out = path.join(dir, 'result.json');
  const child = spawn(process.execPath, [path.join(root, 'bench', 'dist', 'run.js'), '--quick', '--out', out], {
    cwd: root,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bench exited with ${code}\n${stdout}\n${stderr}`);

  // The endpoint table: one row per endpoint, each with a figure.
  for (const endpoint of ENDPOINTS) {
    expect(stdout).toMatch(new RegExp(`^\\| ${endpoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+\\| \\d+`, 'm'));
  }
  // The targets table: one line per target of the issue.
  for (const target of [
    '÷ baseline',
    'flags cost',
    'p99 ',
    'ingest over HTTP',
    'delivery lag p99',
    'backlog of',
    'GET /users/:id/stats, ',
    'GET /events/export, ',
    'export memory',
    'project-service peak RSS',
    'aggregator-service peak RSS',
    'hot queries use an index',
  ]) {
    expect(stdout.split('\n').filter((line) => line.startsWith('| ') && line.includes(target))).not.toHaveLength(0);
  }
  expect(stdout).toContain('QUICK');

  const report = JSON.parse(readFileSync(out, 'utf8'));
  expect(report.settings).toMatchObject({ quick: true, connections: 32 });
  expect(report.machine.cpus).toBeGreaterThan(0);
  expect(report.results.map((r: { endpoint: string }) => r.endpoint)).toEqual(ENDPOINTS);
  for (const row of report.results) {
    expect(row.service).toHaveLength(report.settings.rounds);
    for (const sample of row.service) {
      expect(sample).toEqual({
        rps: expect.any(Number),
        p50: expect.any(Number),
        p99: expect.any(Number),
        non2xx: expect.any(Number),
        errors: expect.any(Number),
        cpu: { server: expect.any(Number), postgres: expect.any(Number), loader: expect.any(Number) },
        rss: expect.any(Number),
        outcomes: expect.any(Object),
      });
      expect(sample.rps).toBeGreaterThan(0);
      // The load was answered with 2xx (a benchmark of error responses measures nothing); a few
      // timeouts on a loaded machine (the activity feed's 2 s call to the aggregator) are tolerated.
      expect(sample.non2xx + sample.errors).toBeLessThanOrEqual(Math.ceil(sample.rps * report.settings.duration * 0.05));
    }
  }
  // The webhook: every project's secret reported once before the rounds, to each side; then both
  // sides got the same mix of answers (the walk of bench/run.ts gives each its own deployments and
  // the same sequence of reports), unless the load went round a side's half of the in-progress
  // deployments (3 reports each), after which the mix changes and the bench warns.
  const webhook = report.results.find((r: { endpoint: string }) => r.endpoint === 'POST /deployment/webhook');
  for (const side of ['baseline', 'service']) {
    expect(webhook.firstReports[side]).toMatchObject({ requests: report.settings.size.projects, non2xx: 0 });
  }
  const answers = (samples: Array<{ outcomes: Record<string, number> }>) => {
    const counts: Record<string, number> = {};
    for (const s of samples) for (const [k, n] of Object.entries(s.outcomes)) counts[k] = (counts[k] ?? 0) + n;
    return counts;
  };
  const base = answers(webhook.baseline);
  const svc = answers(webhook.service);
  const { deployments } = report.settings.size;
  const capacity = 3 * Math.floor((deployments - Math.floor(deployments * 0.93)) / 2);
  const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
  if (Math.max(sum(base), sum(svc)) + 32 * report.settings.rounds < capacity) {
    for (const c of [base, svc]) expect(Object.keys(c).sort()).toEqual(['apply', 'same', 'stale']);
    // The mix repeats every 9 requests: a round's last few make a difference of up to 9 in a side's count.
    const tolerance = Math.max(0.02, 18 / Math.min(sum(base), sum(svc)));
    for (const k of ['apply', 'same', 'stale']) expect(Math.abs(base[k]! / sum(base) - svc[k]! / sum(svc))).toBeLessThan(tolerance);
    expect(stdout).not.toContain('WARNING: the two sides got different mixes');
  }
  // The endpoints the baseline also serves are measured on both.
  expect(report.results.filter((r: { baseline: unknown[] }) => r.baseline.length > 0)).toHaveLength(6);
  expect(Object.keys(report.phases).sort()).toEqual(['backlog', 'delivery', 'export', 'flags', 'rss', 'stats']);
  // The export streamed every event: the generated ones and those the load stored.
  expect(report.phases.export.events).toBeGreaterThan(report.settings.size.events);
  expect(report.phases.backlog.events).toBe(report.settings.delivery.backlog);
  expect(report.phases.delivery.events).toBeGreaterThan(0);
  for (const t of report.targets)
    expect(t).toEqual({ target: expect.any(String), goal: expect.any(String), measured: expect.any(String), met: expect.any(Boolean) });
  expect(report.explain.length).toBeGreaterThan(0);
}, 180_000);
