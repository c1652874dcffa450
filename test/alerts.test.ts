import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { freePort } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';

/**
 * The Prometheus alert rules (ops/prometheus/alerts.yml):
 * - `promtool check rules` and `promtool test rules` (the unit tests in alerts.test.yml), when
 *   promtool is installed;
 * - always: every metric the rules name is one the services export (a drift guard), each alert is
 *   well-formed and has unit tests that fire it and that do not, and the real service processes
 *   expose every exported metric with its type.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RULES = path.join(root, 'ops', 'prometheus', 'alerts.yml');
const RULE_TESTS = path.join(root, 'ops', 'prometheus', 'alerts.test.yml');

/** What the services export: the contract between the rules and project-service/aggregator-service's metrics modules. */
const EXPORTED = {
  http_request_duration_seconds: { type: 'histogram', services: ['project-service', 'aggregator-service'] },
  outbox_backlog_events: { type: 'gauge', services: ['project-service'] },
  outbox_oldest_undelivered_age_seconds: { type: 'gauge', services: ['project-service'] },
  outbox_relay_attempts_total: { type: 'counter', services: ['project-service'] },
  outbox_relay_events_total: { type: 'counter', services: ['project-service'] },
  webhook_outcomes_total: { type: 'counter', services: ['project-service'] },
  aggregator_events_total: { type: 'counter', services: ['aggregator-service'] },
  service_ready: { type: 'gauge', services: ['project-service', 'aggregator-service'] },
  projects_over_ongoing_threshold: { type: 'gauge', services: ['project-service'] },
} as const;
/** Series Prometheus itself makes for every target. */
const FROM_PROMETHEUS = new Set(['up']);
const ALERTS = ['OutboxNotDraining', 'EventDeliveryFailing', 'High5xxRatio', 'ServiceNotReady', 'TooManyDeploymentsInProgress'];

// ---------------------------------------------------------------- PromQL: which metrics does an expression name?

const PROMQL_FUNCTIONS = new Set(
  (
    'sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio ' +
    'abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week day_of_year days_in_month delta deriv exp floor ' +
    'histogram_count histogram_sum histogram_fraction histogram_quantile histogram_stddev histogram_stdvar holt_winters double_exponential_smoothing hour idelta increase irate ' +
    'label_join label_replace ln log2 log10 minute month predict_linear rate resets round scalar sgn sort sort_desc sort_by_label sort_by_label_desc sqrt time timestamp vector year ' +
    'avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time stddev_over_time stdvar_over_time last_over_time present_over_time mad_over_time ' +
    'acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg pi rad'
  ).split(' '),
);
const PROMQL_KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
  'atan2',
]);

/** The metric names a PromQL expression selects (functions, keywords, labels, strings and durations left out). */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range and subquery selectors
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' '); // label lists
  const names: string[] = [];
  for (const m of stripped.matchAll(/(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    const [, word, call] = m;
    if (PROMQL_KEYWORDS.has(word!.toLowerCase())) continue;
    if (call) {
      if (!PROMQL_FUNCTIONS.has(word!)) throw new Error(`unknown PromQL function ${word}() in: ${expr}`);
      continue;
    }
    names.push(word!);
  }
  return [...new Set(names)];
}

/** Names that are neither an exported metric (with its histogram suffixes) nor one of Prometheus's own. */
function unknownMetrics(names: string[]): string[] {
  const known = new Set<string>(FROM_PROMETHEUS);
  for (const [name, { type }] of Object.entries(EXPORTED)) {
    known.add(name);
    if (type === 'histogram') for (const suffix of ['_count', '_sum', '_bucket']) known.add(name + suffix);
  }
  return names.filter((n) => !known.has(n));
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (parseYaml(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap((g) => g.rules);

// ---------------------------------------------------------------- promtool

const promtoolFound = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
if (!promtoolFound)
  console.warn(
    'test/alerts.test.ts: promtool is not on PATH (apt-get install prometheus); skipping `promtool check rules` and `promtool test rules`',
  );

describe('promtool', () => {
  const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: root, encoding: 'utf8', timeout: 60_000 });

  (promtoolFound ? it : it.skip)('check rules: alerts.yml is valid', () => {
    const result = promtool('check', 'rules', path.relative(root, RULES));
    expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({
      status: 0,
      output: expect.stringContaining(`SUCCESS: ${rules.length} rules found`),
    });
  });

  (promtoolFound ? it : it.skip)('test rules: the unit tests in alerts.test.yml pass', () => {
    const result = promtool('test', 'rules', path.relative(root, RULE_TESTS));
    expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });
});

// ---------------------------------------------------------------- always

describe('alerts.yml', () => {
  it('the metric-name extraction finds metrics, and the guard refuses names the services do not export', () => {
    expect(
      metricNames(
        'sum by (job) (rate(foo_total{a="b", c=~"x|y"}[5m])) / on (job) group_left bar offset 5m > 1e3 ' +
          'and histogram_quantile(0.9, sum by (le) (rate(baz_bucket[5m:1m]))) unless max_over_time(qux[1h]) >= bool 0.5 or (quux == 0)',
      ).sort(),
    ).toEqual(['bar', 'baz_bucket', 'foo_total', 'quux', 'qux']);
    expect(() => metricNames('ratee(x[5m])')).toThrow('unknown PromQL function ratee()');
    expect(
      unknownMetrics([
        'outbox_backlog',
        'http_request_duration_seconds_total',
        'service_ready',
        'up',
        'http_request_duration_seconds_bucket',
      ]),
    ).toEqual(['outbox_backlog', 'http_request_duration_seconds_total']);
  });

  it('names only metrics the services export (drift guard)', () => {
    const used = rules.flatMap((r) => metricNames(r.expr));
    expect(used.length).toBeGreaterThan(0);
    expect(unknownMetrics(used)).toEqual([]);
    // and the ones the brief asked the rules to watch are watched
    for (const name of [
      'http_request_duration_seconds_count',
      'outbox_oldest_undelivered_age_seconds',
      'outbox_backlog_events',
      'outbox_relay_attempts_total',
      'service_ready',
      'up',
      'projects_over_ongoing_threshold',
    ]) {
      expect(used).toContain(name);
    }
  });

  it('has exactly the five alerts, each with a severity, a for duration, a summary and a description', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([...ALERTS].sort());
    for (const rule of rules) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(warning|critical)$/),
      });
      expect({ alert: rule.alert, for: rule.for }).toEqual({ alert: rule.alert, for: expect.stringMatching(/^\d+[smh]$/) });
      expect(rule.annotations?.summary?.length).toBeGreaterThan(10);
      expect(rule.annotations?.description?.length).toBeGreaterThan(40);
    }
    const busy = rules.find((r) => r.alert === 'TooManyDeploymentsInProgress')!;
    expect(busy.annotations!.description).toContain('GET /ops/busy-projects');
    expect(busy.expr).toMatch(/projects_over_ongoing_threshold\)? > 0/);
  });

  it('alerts.test.yml tests every alert both ways: input that fires it, and input that must not', () => {
    const suite = parseYaml(readFileSync(RULE_TESTS, 'utf8')) as {
      rule_files: string[];
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
    };
    expect(suite.rule_files).toEqual(['alerts.yml']);
    const cases = suite.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of ALERTS) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect({ alert, fires: mine.some((c) => (c.exp_alerts ?? []).length > 0) }).toEqual({ alert, fires: true });
      expect({ alert, silent: mine.some((c) => (c.exp_alerts ?? []).length === 0) }).toEqual({ alert, silent: true });
    }
  });
});

// ---------------------------------------------------------------- the real processes

describe('the running services expose every metric of the contract, with its type', () => {
  let project: TestDatabase;
  let aggregator: TestDatabase;
  const children: ChildProcess[] = [];
  const projectToken = randomBytes(18).toString('base64url');
  const aggregatorToken = randomBytes(18).toString('base64url');
  beforeAll(async () => {
    [project, aggregator] = await Promise.all([createTestDatabase('project'), createTestDatabase('aggregator')]);
  });
  afterAll(async () => {
    for (const child of children) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await Promise.all([project?.drop(), aggregator?.drop()]);
  });

  async function start(main: string, env: Record<string, string>, port: number): Promise<void> {
    const child = spawn(process.execPath, [path.join(root, main)], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_LEVEL: 'warn', PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      if (child.exitCode !== null) throw new Error(`${main} exited with ${child.exitCode}: ${stderr}`);
      if (
        await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${main} did not answer on ${port}: ${stderr}`);
  }

  /** `# TYPE name type` lines of a /metrics answer. */
  async function exposedTypes(port: number, token: string): Promise<Record<string, string>> {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    return Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  }

  const expectedFor = (service: string) =>
    Object.fromEntries(
      Object.entries(EXPORTED)
        .filter(([, m]) => (m.services as readonly string[]).includes(service))
        .map(([name, m]) => [name, m.type]),
    );

  it('project-service and aggregator-service', async () => {
    const [projectPort, aggregatorPort] = [await freePort(), await freePort()];
    await Promise.all([
      start(
        'aggregator-service/dist/src/main.js',
        {
          AGGREGATOR_DATABASE_URL: aggregator.url,
          AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
          AGGREGATOR_SERVICE_PORT: String(aggregatorPort),
          AGGREGATOR_SERVICE_HOST: '127.0.0.1',
        },
        aggregatorPort,
      ),
      start(
        'project-service/dist/src/main.js',
        {
          PROJECT_DATABASE_URL: project.url,
          PROJECT_SERVICE_TOKEN: projectToken,
          AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
          AGGREGATOR_URL: `http://127.0.0.1:${aggregatorPort}`,
          PROJECT_SERVICE_PORT: String(projectPort),
          PROJECT_SERVICE_HOST: '127.0.0.1',
        },
        projectPort,
      ),
    ]);
    // one request each first, so the request histogram has a series
    await fetch(`http://127.0.0.1:${projectPort}/projects`, { headers: { authorization: `Bearer ${projectToken}` } });
    await fetch(`http://127.0.0.1:${aggregatorPort}/events`, { headers: { authorization: `Bearer ${aggregatorToken}` } });

    const projectTypes = await exposedTypes(projectPort, projectToken);
    const aggregatorTypes = await exposedTypes(aggregatorPort, aggregatorToken);
    const pick = (types: Record<string, string>, expected: Record<string, string>) =>
      Object.fromEntries(Object.keys(expected).map((n) => [n, types[n] ?? 'missing']));
    expect(pick(projectTypes, expectedFor('project-service'))).toEqual(expectedFor('project-service'));
    expect(pick(aggregatorTypes, expectedFor('aggregator-service'))).toEqual(expectedFor('aggregator-service'));

    // the values the rules compare: ready, nothing waiting, nobody busy; every series labelled with its service
    const text = await (
      await fetch(`http://127.0.0.1:${projectPort}/metrics`, { headers: { authorization: `Bearer ${projectToken}` } })
    ).text();
    expect(text).toMatch(/^service_ready\{service="project-service"\} 1$/m);
    expect(text).toMatch(/^outbox_backlog_events\{service="project-service"\} 0$/m);
    expect(text).toMatch(/^projects_over_ongoing_threshold\{service="project-service"\} 0$/m);
    expect(text).toMatch(/^outbox_relay_attempts_total\{result="failed",service="project-service"\} 0$/m);
  }, 60_000);
});
