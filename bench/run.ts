import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { migrations as aggregatorMigrations } from '@hosting/aggregator-service';
import { migrations as projectMigrations } from '@hosting/project-service';
import { SERVICE_NODE_OPTIONS, createDb, freePort, runMigrations, sha256, startEmbeddedDb, type Knex } from '@hosting/shared';
import { STATEMENTS, deploymentsPage, projectPageSql, toPg } from './statements.js';
import { FULL, HEAVY_USER, QUICK, generateAggregatorData, generateProjectData, heavyUserDeployments } from './generate.js';

/**
 * `npm run bench [-- --quick] [--duration S] [--rounds N] [--only X] [--out FILE]`: the services as
 * users run them (compiled, production mode, logging and metrics on, real tokens) side by side
 * with a bare node:http + pg baseline answering the same routes with the same SQL, loaded with
 * autocannon at 32 connections, interleaved (baseline, service, baseline, service…) so machine
 * noise hits both alike. Then the targets that are not a req/s ratio, each its own phase: the cost
 * of the project page's flags, statistics of the heavy user, the export, delivery lag at a fixed
 * action rate and the drain of an outbox backlog. Prints one table of endpoints and one of the
 * issue's targets (one figure each), and writes both as JSON under bench/results/ (or --out).
 *
 * `--only X` runs the endpoints and phases whose name contains X (phases: flags, stats, export,
 * delivery, backlog). `--baseline-prepared` has the baseline prepare its statements as the
 * services do (by default it sends them unnamed, as a bare `pool.query(text, values)` does).
 * `--node-options "…"` starts the services with these V8 flags (NODE_OPTIONS), e.g. heap limits.
 * `--rate-limit-store memory|postgres` starts them with that RATE_LIMIT_STORE (the cost of shared limits).
 * `--cpu-prof DIR` has each service write a V8 CPU profile (.cpuprofile) into DIR when it stops.
 * `--quick` is the test suite's mode: small data, 1 s per endpoint, short phases; it proves the
 * benchmark runs and says nothing about speed.
 */
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
    out: { type: 'string' },
    'baseline-prepared': { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    'rate-limit-store': { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
  strict: true,
});
const quick = values.quick;
const duration = Number(values.duration ?? (quick ? 1 : 10));
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const connections = Number(values.connections);
const size = quick ? QUICK : FULL;
/** The issue's delivery targets: 1,000 actions/s for a minute; a backlog of 100,000 events. */
const delivery = quick ? { rate: 200, seconds: 3, backlog: 5_000 } : { rate: 1_000, seconds: 60, backlog: 100_000 };
const wanted = (name: string) => !values.only || name.toLowerCase().includes(values.only.toLowerCase());
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const say = (line: string) => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Processes and their resource use

/** utime + stime of a process, in seconds (from /proc). */
function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
function rssMb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.replace(/\D+/g, '')) / 1024 : 0;
  } catch {
    return 0;
  }
}
/** utime + stime of a process and of its children that have exited, in seconds. */
function cpuSecondsWithChildren(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return 0;
  }
}
/**
 * PostgreSQL's CPU so far: the postmaster with its exited children (backends and parallel workers
 * come and go; their time moves into the postmaster's once they exit) plus the living children.
 */
function postgresCpu(pids: number[]): number {
  const [postmaster, ...children] = pids;
  return postmaster === undefined ? 0 : cpuSecondsWithChildren(postmaster) + children.reduce((s, p) => s + cpuSeconds(p), 0);
}
/** Every process whose command line names the embedded PostgreSQL's data folder, and their children. */
function postgresPids(dataDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.split(') ')[1]!.split(' ')[1]);
      if (cmd.includes(dataDir) || pids.includes(ppid)) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return pids;
}

function startProcess(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(url).then(
        () => true,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

// ---------------------------------------------------------------------------------------------
// Endpoints and their requests

/** Who a request goes to: the two sides of a round, or the probe that asks the baseline whether it knows a route. */
type Side = 'baseline' | 'service' | 'probe';
interface Target {
  name: string;
  kind: 'read' | 'write' | 'ingest' | 'other';
  server: 'project' | 'aggregator';
  request: (side: Side) => { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string };
}

const rand = (n: number) => 1 + Math.floor(Math.random() * n);

function targets(token: string, aggregatorToken: string): Target[] {
  const admin = { authorization: `Bearer ${token}` };
  const pages = Math.ceil(size.projects / 8);
  const webhook = webhookWalk();
  return [
    {
      name: 'GET /projects?page=N',
      kind: 'read',
      server: 'project',
      request: () => ({ method: 'GET', path: `/projects?page=${rand(pages)}`, headers: admin }),
    },
    {
      name: 'GET /projects/:id',
      kind: 'read',
      server: 'project',
      request: () => ({ method: 'GET', path: `/projects/${rand(size.projects)}`, headers: admin }),
    },
    {
      name: 'GET /deployments?page=N&status=…',
      kind: 'read',
      server: 'project',
      request: () => ({
        method: 'GET',
        path: `/deployments?page=${rand(50)}&status=${['done', 'failed', 'building,deploying'][rand(3) - 1]}`,
        headers: admin,
      }),
    },
    {
      name: 'POST /projects/:id/deployment',
      kind: 'write',
      server: 'project',
      request: () => ({ method: 'POST', path: `/projects/${rand(size.projects)}/deployment`, headers: admin }),
    },
    {
      name: 'POST /deployment/webhook',
      kind: 'write',
      server: 'project',
      request: (side) => {
        const { id, status } = webhook(side);
        return {
          method: 'POST',
          path: '/deployment/webhook',
          headers: { authorization: `Bearer ${secretOf(id)}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id, status }),
        };
      },
    },
    {
      name: 'POST /events (500/batch)',
      kind: 'ingest',
      server: 'aggregator',
      request: () => {
        // 10% of each batch repeats an event of the batch before: duplicates are part of the load.
        const events = Array.from({ length: 500 }, (_, i) => {
          const p = rand(size.projects);
          return {
            eventId: i < 50 && lastBatch[i] ? lastBatch[i] : randomUUID(),
            name: 'deployment.status_changed',
            occurredAt: new Date().toISOString(),
            payload: {
              projectId: p,
              projectName: `project-${p}`,
              userId: 1 + (p % size.users),
              deploymentId: rand(size.deployments),
              source: 'webhook',
              requestId: null,
              from: 'building',
              to: 'deploying',
              deployedIn: null,
            },
          };
        });
        lastBatch = events.map((e) => e.eventId);
        return {
          method: 'POST',
          path: '/events',
          headers: { authorization: `Bearer ${aggregatorToken}`, 'content-type': 'application/json' },
          body: JSON.stringify(events),
        };
      },
    },
    {
      name: 'GET /projects/:id/activity',
      kind: 'other',
      server: 'project',
      request: () => ({ method: 'GET', path: `/projects/${rand(size.projects)}/activity`, headers: admin }),
    },
    {
      name: 'GET /users/:id/stats',
      kind: 'other',
      server: 'project',
      request: () => ({ method: 'GET', path: `/users/${rand(size.users)}/stats`, headers: admin }),
    },
  ];
}
let lastBatch: string[] = [];

/** The app secret of a generated deployment's project (generate.ts: project 1 + (id × 7919) mod projects, secret-<project>). */
const secretOf = (id: number) => `secret-${1 + ((id * 7919) % size.projects)}`;
/** The in-progress deployments (generate.ts: the newest 7%, pending, building and deploying in turn by id). */
const firstOngoing = Math.floor(size.deployments * 0.93) + 1;
/** How far apart (in deployments) a walk's three reports of one deployment are, so none overtakes the one before at 32 connections. */
const REPORT_GAP = 64;
const REPORTS = ['building', 'deploying', 'done'] as const;

/**
 * The webhook's workload: CI systems report each in-progress deployment building, then deploying,
 * then done. The baseline and the service each walk their own half of the in-progress deployments
 * (alternate ids, so each half holds pending, building and deploying ones in turn) with their own
 * count of requests: each side's k-th request is the same report on a deployment in the same state,
 * so both see the same outcomes in the same proportions, however fast each is. (One walk shared by
 * both sides, as before, gave each side whatever part of it its rounds happened to reach: a side
 * reaching the pass that finishes deployments did only writes, one reaching the pass after it none.)
 *
 * Request k reports REPORTS[k mod 3] on the deployment at position ⌊k/3⌋ − (k mod 3) × REPORT_GAP of
 * the side's half, so every 9 requests are 6 transitions (apply), 2 duplicates (same) and 1 late
 * report (stale): pending gets apply, apply, apply; building same, apply, apply; deploying stale,
 * same, apply. A side's half holds 3 × 35,000 requests at full size (the default 3 rounds of 10 s
 * use at most 60,000 at 2,000 req/s); beyond, the walk goes round again over deployments already
 * done and the mix changes, which the per-side outcome counts printed after each endpoint show.
 * The probe reports a finished deployment as it is (no change, outside both halves).
 */
function webhookWalk() {
  const half = Math.floor((size.deployments - firstOngoing + 1) / 2);
  const sent = { baseline: 0, service: 0 };
  return (side: Side): { id: number; status: string } => {
    if (side === 'probe') return { id: firstOngoing - 1, status: 'done' };
    const k = sent[side]++;
    const report = k % 3;
    const position = (((Math.floor(k / 3) - report * REPORT_GAP) % half) + half) % half;
    return { id: firstOngoing + (side === 'baseline' ? 0 : 1) + 2 * position, status: REPORTS[report]! };
  };
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  cpu: { server: number; postgres: number; loader: number };
  rss: number;
  /** Answers by what they were: the webhook's X-Webhook-Outcome (apply, same, stale) where there is one, else the status code. */
  outcomes: Record<string, number>;
}

async function load(baseUrl: string, target: Target, side: 'baseline' | 'service', pid: number, pgPids: () => number[]): Promise<Sample> {
  const cpu0 = { server: cpuSeconds(pid), postgres: postgresCpu(pgPids()), loader: process.cpuUsage() };
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, rssMb(pid))), 250);
  const outcomes: Record<string, number> = {};
  const result = await autocannon({
    url: baseUrl,
    connections,
    duration,
    requests: [
      {
        setupRequest: (req) => ({ ...req, ...target.request(side) }),
        onResponse: (status, _body, _context, headers) => {
          // autocannon keeps the header names as the server sent them.
          const header = headers?.['x-webhook-outcome'] ?? headers?.['X-Webhook-Outcome'];
          const key = typeof header === 'string' ? header : String(status);
          outcomes[key] = (outcomes[key] ?? 0) + 1;
        },
      },
    ],
  });
  clearInterval(sampler);
  rss = Math.max(rss, rssMb(pid));
  const loader = process.cpuUsage(cpu0.loader);
  const wall = duration;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpu: {
      server: (cpuSeconds(pid) - cpu0.server) / wall,
      postgres: (postgresCpu(pgPids()) - cpu0.postgres) / wall,
      loader: (loader.user + loader.system) / 1e6 / wall,
    },
    rss,
    outcomes,
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  const dataDir = path.join(os.tmpdir(), `hosting-bench-${process.pid}`);
  const pgServer = await startEmbeddedDb({
    dataDir,
    port: await freePort(),
    persistent: false,
    postgresFlags: ['-c', 'max_connections=200', '-c', `shared_buffers=${quick ? '128MB' : '512MB'}`],
  });
  const children: ChildProcess[] = [];
  let stopSampler = () => {};
  try {
    await pgServer.ensureDatabase('bench_projects');
    await pgServer.ensureDatabase('bench_aggregator');
    const projectUrl = pgServer.url('bench_projects');
    const aggregatorUrl = pgServer.url('bench_aggregator');
    const projectDb = createDb({ connectionString: projectUrl, pool: { max: 2 } });
    const aggregatorDb = createDb({ connectionString: aggregatorUrl, pool: { max: 2 } });
    await runMigrations(projectDb, projectMigrations);
    await runMigrations(aggregatorDb, aggregatorMigrations);
    let t = Date.now();
    await generateProjectData(projectDb, size);
    say(
      `data: ${size.users} users, ${size.projects} projects, ${size.deployments} deployments in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
    t = Date.now();
    await generateAggregatorData(aggregatorDb, size, size.projects, size.users);
    say(`data: ${size.events} events in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const token = `bench-${randomUUID()}`;
    const aggregatorToken = `bench-${randomUUID()}`;
    const ports = {
      project: await freePort(),
      aggregator: await freePort(),
      baseProject: await freePort(),
      baseAggregator: await freePort(),
    };
    // --node-options: V8 flags for the services (e.g. heap limits), as NODE_OPTIONS would give them in a deployment.
    const common = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      PROJECT_SERVICE_TOKEN: token,
      AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
      // As users run them (npm start, the Docker image): SERVICE_NODE_OPTIONS unless --node-options says otherwise.
      NODE_OPTIONS: values['node-options'] ?? SERVICE_NODE_OPTIONS,
      ...(values['rate-limit-store'] ? { RATE_LIMIT_STORE: values['rate-limit-store'] } : {}),
    };
    // --cpu-prof DIR: each service writes a V8 CPU profile there when it stops (NODE_OPTIONS may not carry --cpu-prof).
    const profile = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values['cpu-prof'])}`] : [];
    const aggregator = startProcess([...profile, 'aggregator-service/dist/src/main.js'], {
      ...common,
      AGGREGATOR_DATABASE_URL: aggregatorUrl,
      AGGREGATOR_SERVICE_PORT: String(ports.aggregator),
      AGGREGATOR_SERVICE_HOST: '127.0.0.1',
    });
    const project = startProcess([...profile, 'project-service/dist/src/main.js'], {
      ...common,
      PROJECT_DATABASE_URL: projectUrl,
      PROJECT_SERVICE_PORT: String(ports.project),
      PROJECT_SERVICE_HOST: '127.0.0.1',
      PUBLIC_BASE_URL: `http://127.0.0.1:${ports.project}`,
      AGGREGATOR_URL: `http://127.0.0.1:${ports.aggregator}`,
    });
    const baselineMode = values['baseline-prepared'] ? ['prepared'] : [];
    const baseProject = startProcess(
      ['bench/dist/baseline.js', 'project', String(ports.baseProject), projectUrl, token, ...baselineMode],
      {},
    );
    const baseAggregator = startProcess(
      ['bench/dist/baseline.js', 'aggregator', String(ports.baseAggregator), aggregatorUrl, aggregatorToken, ...baselineMode],
      {},
    );
    children.push(aggregator, project, baseProject, baseAggregator);
    await Promise.all(Object.values(ports).map((p) => waitFor(`http://127.0.0.1:${p}/`)));

    // The largest RSS each service reaches over the whole run (the 150 MB target).
    const peakRss = { project: 0, aggregator: 0 };
    const sampler = setInterval(() => {
      peakRss.project = Math.max(peakRss.project, rssMb(project.pid!));
      peakRss.aggregator = Math.max(peakRss.aggregator, rssMb(aggregator.pid!));
    }, 250);
    stopSampler = () => clearInterval(sampler);

    const pgPids = () => postgresPids(dataDir);
    const projectBase = `http://127.0.0.1:${ports.project}`;
    const aggregatorBase = `http://127.0.0.1:${ports.aggregator}`;
    /** The outbox relay of project-service delivers the write benchmarks' events; each phase starts with it idle. */
    const drainOutbox = () => waitForOutbox(projectDb, quick ? 60_000 : 300_000);

    const rows: Row[] = [];
    for (const target of targets(token, aggregatorToken)) {
      if (!wanted(target.name)) continue;
      await drainOutbox();
      const svc = target.server === 'project' ? { url: projectBase, pid: project.pid! } : { url: aggregatorBase, pid: aggregator.pid! };
      const base =
        target.server === 'project'
          ? { url: `http://127.0.0.1:${ports.baseProject}`, pid: baseProject.pid! }
          : { url: `http://127.0.0.1:${ports.baseAggregator}`, pid: baseAggregator.pid! };
      const row: Row = { endpoint: target.name, kind: target.kind, baseline: [], service: [] };
      // The baseline answers only the routes it knows; endpoints it lacks are measured alone.
      const probe = target.request('probe');
      const baselineKnows =
        (await fetch(base.url + probe.path, { method: probe.method, headers: probe.headers, body: probe.body })).status !== 404;
      if (target.name === 'POST /deployment/webhook') {
        // Every project's CI reports once before the rounds, so the rounds measure secrets that
        // have reported lately, as a CI fleet's do; these first reports are timed on their own.
        row.firstReports = {
          baseline: baselineKnows ? await firstReports(base.url, projectDb) : null,
          service: await firstReports(svc.url, projectDb),
        };
      }
      for (let r = 0; r < rounds; r++) {
        // Each round starts with the relay idle: the events of one side's writes are not delivered during the other's round.
        if (baselineKnows) {
          await drainOutbox();
          row.baseline.push(await load(base.url, target, 'baseline', base.pid, pgPids));
        }
        await drainOutbox();
        row.service.push(await load(svc.url, target, 'service', svc.pid, pgPids));
      }
      rows.push(row);
      say(summaryLine(row));
      const mix = outcomeMix(row);
      if (mix) say(mix);
    }

    const phases: Phases = {};
    if (wanted('flags')) {
      phases.flags = await flagsCost(projectDb);
      say(
        `flags: page with flags ${fmt(phases.flags.withFlagsMs, 3)} ms, without ${fmt(phases.flags.withoutFlagsMs, 3)} ms (database execution, mean of ${phases.flags.samples})`,
      );
    }
    if (wanted('stats')) {
      phases.stats = await heavyUserStats(projectBase, token);
      say(
        `stats: user ${HEAVY_USER} with ${phases.stats.deployments} deployments: p50 ${fmt(phases.stats.p50, 1)} ms, p99 ${fmt(phases.stats.p99, 1)} ms`,
      );
    }
    if (wanted('export')) {
      phases.export = await exportRun(aggregatorBase, aggregatorToken, aggregator.pid!);
      say(
        `export: ${phases.export.events} events in ${fmt(phases.export.seconds, 2)} s, ${fmt(phases.export.eventsPerSecond)} events/s, RSS ${fmt(phases.export.rssBeforeMb)} → ${fmt(phases.export.rssPeakMb)} MB`,
      );
    }
    if (wanted('delivery')) {
      await drainOutbox();
      phases.delivery = await deliveryLag(projectBase, token, projectDb, aggregatorDb);
      say(
        `delivery: ${phases.delivery.actions} actions at ${fmt(phases.delivery.actionsPerSecond)}/s for ${delivery.seconds} s, ${phases.delivery.events} events: lag p50 ${fmt(phases.delivery.lagP50Ms)} ms, p99 ${fmt(phases.delivery.lagP99Ms)} ms, max ${fmt(phases.delivery.lagMaxMs)} ms`,
      );
    }
    if (wanted('backlog')) {
      await drainOutbox();
      phases.backlog = await backlogDrain(projectDb);
      say(
        `backlog: ${phases.backlog.events} events drained in ${fmt(phases.backlog.seconds, 2)} s, ${fmt(phases.backlog.eventsPerSecond)} events/s`,
      );
    }
    stopSampler();
    phases.rss = { projectMb: peakRss.project, aggregatorMb: peakRss.aggregator };

    const explain = await explainHotQueries(projectDb, aggregatorDb);
    await projectDb.destroy();
    await aggregatorDb.destroy();
    const machine = {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
    };
    const targetRows = targetTable(rows, phases, explain);
    const report = {
      when: new Date().toISOString(),
      machine,
      settings: {
        quick,
        duration,
        rounds,
        connections,
        size,
        delivery,
        only: values.only ?? null,
        baselinePrepared: values['baseline-prepared'],
        nodeOptions: values['node-options'] ?? null,
        rateLimitStore: values['rate-limit-store'] ?? null,
      },
      results: rows,
      phases,
      targets: targetRows,
      explain,
      seconds: Math.round((Date.now() - started) / 1000),
    };
    say('');
    say(
      `machine: ${machine.cpus} × ${machine.model}, ${machine.memoryGb} GB, node ${machine.node}; ${quick ? 'QUICK (small data: figures say nothing)' : 'full'} data: ${size.deployments} deployments, ${size.events} events; ${rounds} round(s) of ${duration} s at ${connections} connections`,
    );
    say('');
    say(table(rows));
    say(
      values['baseline-prepared']
        ? 'baseline: statements prepared, as the services send them (--baseline-prepared): the ratio is the cost of what the services do in Node'
        : 'baseline: statements unnamed, as pool.query(text, values) sends them; the services prepare theirs (shared/src/db/knex.ts). --baseline-prepared compares like with like in the database',
    );
    say('');
    say(
      renderTable(
        ['target', 'goal', 'measured', 'met'],
        targetRows.map((r) => [r.target, r.goal, r.measured, r.met === null ? '–' : r.met ? 'yes' : 'NO']),
      ),
    );
    say('');
    for (const e of explain)
      say(`${e.seqScans.length ? 'SEQ SCAN ' : 'index    '} ${e.name}${e.seqScans.length ? `: ${e.seqScans.join(', ')}` : ''}`);
    const file = values.out
      ? path.resolve(values.out)
      : path.join(root, 'bench', 'results', `${quick ? 'quick' : 'full'}-${report.when.replace(/[:.]/g, '-')}.json`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    say(`\nwritten: ${file.startsWith(root) ? path.relative(root, file) : file} (${report.seconds} s)`);
  } finally {
    stopSampler();
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    await pgServer.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Phases: the targets that are not a throughput ratio

type Db = ReturnType<typeof createDb>;
interface Row {
  endpoint: string;
  kind: string;
  baseline: Sample[];
  service: Sample[];
  /** The webhook: one report per project secret, none seen before by the service (its unverified-work cap applies to each). */
  firstReports?: { baseline: FirstReports | null; service: FirstReports };
}
interface FirstReports {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}
interface Phases {
  flags?: { withFlagsMs: number; withoutFlagsMs: number; samples: number };
  stats?: { deployments: number; p50: number; p99: number; max: number; samples: number };
  export?: { events: number; seconds: number; eventsPerSecond: number; rssBeforeMb: number; rssPeakMb: number };
  delivery?: {
    actions: number;
    actionsPerSecond: number;
    non2xx: number;
    events: number;
    lagP50Ms: number;
    lagP99Ms: number;
    lagMaxMs: number;
  };
  backlog?: { events: number; seconds: number; eventsPerSecond: number };
  rss?: { projectMb: number; aggregatorMb: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
};

async function undelivered(db: Db): Promise<number> {
  const { rows } = await db.raw<{ rows: Array<{ n: number }> }>('select count(*) as n from outbox where delivered_at is null');
  return rows[0]!.n;
}

/**
 * One webhook report per project, each on a finished deployment of that project and with the
 * status it has (a duplicate: nothing changes, so both sides can be sent the same reports), at the
 * rounds' connections: every secret's first report to the service, so the cap on unverified work
 * (UNVERIFIED_MAX_PER_ADDRESS from this one address) applies to each of them.
 */
async function firstReports(url: string, db: Db): Promise<FirstReports> {
  const { rows } = await db.raw<{ rows: Array<{ id: number; status: string }> }>(
    `select distinct on (project_id) id, status from deployments
     where id < :firstOngoing and status in ('done', 'failed', 'cancelled') order by project_id, id`,
    { firstOngoing },
  );
  let i = 0;
  // Timed here, from the first request sent to the last answer (autocannon's own duration ends on its 1 s tick).
  const start = Date.now();
  let end = start;
  const result = await autocannon({
    url,
    connections,
    amount: rows.length,
    requests: [
      {
        onResponse: () => (end = Date.now()),
        setupRequest: (req) => {
          const { id, status } = rows[i++ % rows.length]!;
          return {
            ...req,
            method: 'POST',
            path: '/deployment/webhook',
            headers: { authorization: `Bearer ${secretOf(id)}`, 'content-type': 'application/json' },
            body: JSON.stringify({ id, status }),
          };
        },
      },
    ],
  });
  const seconds = (end - start) / 1000;
  return {
    requests: result.requests.total,
    rps: seconds > 0 ? result.requests.total / seconds : NaN,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors + result.timeouts,
  };
}

/** Waits until the relay has delivered everything (so one phase's events do not load the next). */
async function waitForOutbox(db: Db, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let n = await undelivered(db);
  while (n > 0) {
    if (Date.now() > deadline) throw new Error(`the outbox still holds ${n} undelivered events after ${timeoutMs / 1000} s`);
    await sleep(100);
    n = await undelivered(db);
  }
}

/**
 * The project page's flags at this scale: the page statement as the service runs it against the
 * same statement without the two flag columns, on the same random pages, by the database's own
 * time (EXPLAIN ANALYZE), so that round trips do not dilute the difference. Both run as prepared
 * statements on one connection, as the services run them (shared/src/db/knex.ts): what is timed
 * is what a request pays, execution plus whatever planning a prepared statement still does.
 */
async function flagsCost(db: Db): Promise<NonNullable<Phases['flags']>> {
  const params = { limit: 0, offset: 0 };
  const withFlags = toPg(projectPageSql(true), params).text;
  const withoutFlags = toPg(projectPageSql(false), params).text;
  const samples = quick ? 40 : 400;
  const pages = Math.ceil(size.projects / 8);
  return db.transaction(async (trx) => {
    await trx.raw(`prepare bench_with_flags as ${withFlags}`);
    await trx.raw(`prepare bench_without_flags as ${withoutFlags}`);
    const time = async (name: string, offset: number) => {
      const { rows } = await trx.raw<{ rows: ExplainRow[] }>(`explain (analyze, timing off, format json) execute ${name}(8, ${offset})`);
      const plan = rows[0]!['QUERY PLAN'][0]!;
      return plan['Execution Time']! + plan['Planning Time']!;
    };
    // As on a service's connection after its first requests: the plan cache has settled.
    for (let i = 0; i < 10; i++) {
      await time('bench_with_flags', (rand(pages) - 1) * 8);
      await time('bench_without_flags', (rand(pages) - 1) * 8);
    }
    let a = 0;
    let b = 0;
    for (let i = 0; i < samples; i++) {
      const offset = (rand(pages) - 1) * 8;
      // Alternate which goes first, so neither always finds the other's pages in cache.
      if (i % 2) {
        a += await time('bench_with_flags', offset);
        b += await time('bench_without_flags', offset);
      } else {
        b += await time('bench_without_flags', offset);
        a += await time('bench_with_flags', offset);
      }
    }
    return { withFlagsMs: a / samples, withoutFlagsMs: b / samples, samples };
  });
}

/** `GET /users/:id/stats` of the user with a tenth of all deployments, one request at a time. */
async function heavyUserStats(baseUrl: string, token: string): Promise<NonNullable<Phases['stats']>> {
  const samples = quick ? 10 : 100;
  const url = `${baseUrl}/users/${HEAVY_USER}/stats`;
  const headers = { authorization: `Bearer ${token}` };
  for (let i = 0; i < 3; i++) await (await fetch(url, { headers })).arrayBuffer();
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`stats: ${url} answered ${res.status}`);
    times.push(performance.now() - t0);
  }
  return {
    deployments: heavyUserDeployments(size),
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    max: Math.max(...times),
    samples,
  };
}

/** `GET /events/export` of every event, read as fast as the client can, with the aggregator's RSS sampled throughout. */
async function exportRun(baseUrl: string, token: string, pid: number): Promise<NonNullable<Phases['export']>> {
  const rssBeforeMb = rssMb(pid);
  let rssPeakMb = rssBeforeMb;
  const sampler = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, rssMb(pid))), 100);
  const t0 = performance.now();
  let lines = 0;
  try {
    const res = await fetch(`${baseUrl}/events/export?format=ndjson`, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200 || !res.body) throw new Error(`export answered ${res.status}`);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    }
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - t0) / 1000;
  rssPeakMb = Math.max(rssPeakMb, rssMb(pid));
  return { events: lines, seconds, eventsPerSecond: lines / seconds, rssBeforeMb, rssPeakMb };
}

/**
 * Actions at a fixed rate (the issue: 1,000/s for a minute), half deployment creations and half
 * webhook calls moving the deployments just created; then, once the relay has delivered
 * everything, the lag of each stored event: the aggregator's `created_at` (its insert) minus the
 * event's `occurred_at` (the action's statement), both by the one database server's clock.
 */
async function deliveryLag(baseUrl: string, token: string, projectDb: Db, aggregatorDb: Db): Promise<NonNullable<Phases['delivery']>> {
  const { rows: mark } = await aggregatorDb.raw<{ rows: Array<{ id: number | null }> }>('select max(id) as id from events');
  const after = mark[0]?.id ?? 0;
  const created: number[] = [];
  let turn = 0;
  const admin = { authorization: `Bearer ${token}` };
  const result = await autocannon({
    url: baseUrl,
    connections,
    duration: delivery.seconds,
    overallRate: delivery.rate,
    requests: [
      {
        setupRequest: (req, context: { kind?: 'create' | 'webhook' }) => {
          const id = turn++ % 2 === 1 ? created.shift() : undefined;
          context.kind = id === undefined ? 'create' : 'webhook';
          if (id === undefined)
            return { ...req, method: 'POST', path: `/projects/${rand(size.projects)}/deployment`, headers: admin, body: undefined };
          // The project of a new deployment is in its answer; the bench knows every project's secret.
          const projectId = projectsOf.get(id) ?? 0;
          return {
            ...req,
            method: 'POST',
            path: '/deployment/webhook',
            headers: { authorization: `Bearer secret-${projectId}`, 'content-type': 'application/json' },
            body: JSON.stringify({ id, status: 'building' }),
          };
        },
        onResponse: (status, body, context: { kind?: 'create' | 'webhook' }) => {
          if (context.kind !== 'create' || status !== 201) return;
          const d = JSON.parse(body) as { id: number; projectId: number };
          projectsOf.set(d.id, d.projectId);
          created.push(d.id);
        },
      },
    ],
  });
  const actions = result.requests.total;
  await waitForOutbox(projectDb, quick ? 60_000 : 300_000);
  // The relay has marked everything delivered, so the aggregator has stored it.
  const { rows } = await aggregatorDb.raw<{ rows: Array<{ n: number; p50: number; p99: number; max: number }> }>(
    `select count(*) as n,
            percentile_cont(0.5) within group (order by lag) as p50,
            percentile_cont(0.99) within group (order by lag) as p99,
            max(lag) as max
     from (select extract(epoch from created_at - occurred_at) * 1000 as lag from events where id > ?) l`,
    [after],
  );
  const r = rows[0]!;
  return {
    actions,
    actionsPerSecond: actions / delivery.seconds,
    non2xx: result.non2xx + result.errors,
    events: r.n,
    lagP50Ms: r.p50,
    lagP99Ms: r.p99,
    lagMaxMs: r.max,
  };
}
const projectsOf = new Map<number, number>();

/**
 * A backlog of undelivered events (the issue: 100,000), as after an aggregator outage: written
 * held back, then released at once; the time until the relay has delivered the last of them.
 */
async function backlogDrain(db: Db): Promise<NonNullable<Phases['backlog']>> {
  const n = delivery.backlog;
  await db.raw(
    `insert into outbox (event_id, name, payload, occurred_at, next_attempt_at)
     select gen_random_uuid(), 'deployment.created',
            jsonb_build_object('projectId', p.id, 'projectName', p.name, 'userId', p.user_id, 'deploymentId', 1 + i % ?::int,
                               'source', 'api', 'requestId', null, 'status', 'pending'),
            now(), now() + interval '1 day'
     from generate_series(1, ?::int) as i join projects p on p.id = 1 + i % ?::int`,
    [size.deployments, n, size.projects],
  );
  await db.raw(`update outbox set next_attempt_at = now() where delivered_at is null and next_attempt_at > now() + interval '1 hour'`);
  const t0 = performance.now();
  await db.raw(`select pg_notify('outbox', '')`);
  await waitForOutbox(db, quick ? 60_000 : 600_000);
  const seconds = (performance.now() - t0) / 1000;
  return { events: n, seconds, eventsPerSecond: n / seconds };
}

/** One line per target of the issue: its goal, the figure measured, and whether it is met. */
function targetTable(rows: Row[], phases: Phases, explain: Array<{ name: string; seqScans: string[] }>) {
  const out: Array<{ target: string; goal: string; measured: string; met: boolean | null }> = [];
  const byName = (part: string) => rows.find((r) => r.endpoint.includes(part));
  for (const [part, goal] of [
    ['GET /projects?page', 0.85],
    ['GET /projects/:id', 0.85],
    ['GET /deployments?page', 0.85],
    ['POST /projects/:id/deployment', 0.8],
    ['POST /deployment/webhook', 0.8],
  ] as const) {
    const row = byName(part);
    if (!row?.baseline.length) continue;
    const r = ratios(row);
    out.push({
      target: `${row.endpoint} ÷ baseline`,
      goal: `≥ ${goal}×`,
      measured: `${fmt(r.mean, 2)}× (${fmt(r.min, 2)}–${fmt(r.max, 2)})`,
      met: r.mean >= goal,
    });
  }
  if (phases.flags) {
    const f = phases.flags;
    const more = f.withFlagsMs / f.withoutFlagsMs - 1;
    out.push({
      target: 'project page: flags cost',
      goal: '≤ +30%',
      measured: `+${fmt(more * 100)}% (${fmt(f.withFlagsMs, 3)} vs ${fmt(f.withoutFlagsMs, 3)} ms)`,
      met: more <= 0.3,
    });
  }
  for (const row of rows) {
    const p99 = Math.max(...row.service.map((s) => s.p99));
    out.push({ target: `p99 ${row.endpoint}`, goal: '< 50 ms', measured: `${fmt(p99)} ms`, met: p99 < 50 });
  }
  const ingest = byName('POST /events');
  if (ingest) {
    const perSecond = avg(ingest.service.map((s) => s.rps)) * 500;
    out.push({
      target: 'ingest over HTTP (500/batch, 10% duplicates)',
      goal: '≥ 50,000 events/s',
      measured: `${fmt(perSecond)} events/s`,
      met: perSecond >= 50_000,
    });
  }
  if (phases.delivery) {
    const d = phases.delivery;
    out.push({
      target: `delivery lag p99 at ${fmt(d.actionsPerSecond)} actions/s for ${delivery.seconds} s`,
      goal: '< 1,000 ms at 1,000/s',
      measured: `${fmt(d.lagP99Ms)} ms (p50 ${fmt(d.lagP50Ms)}, ${d.events} events)`,
      met: d.lagP99Ms < 1_000 && d.actionsPerSecond >= delivery.rate * 0.95,
    });
  }
  if (phases.backlog) {
    const b = phases.backlog;
    out.push({
      target: `backlog of ${b.events} events drains`,
      goal: '≥ 5,000 events/s',
      measured: `${fmt(b.eventsPerSecond)} events/s`,
      met: b.eventsPerSecond >= 5_000,
    });
  }
  if (phases.stats) {
    const s = phases.stats;
    out.push({
      target: `GET /users/:id/stats, ${s.deployments} deployments`,
      goal: '< 50 ms',
      measured: `p50 ${fmt(s.p50, 1)} ms, p99 ${fmt(s.p99, 1)} ms`,
      met: s.p99 < 50,
    });
  }
  if (phases.export) {
    const e = phases.export;
    const growth = e.rssPeakMb - e.rssBeforeMb;
    out.push({
      target: `GET /events/export, ${e.events} events`,
      goal: '≥ 50,000 events/s',
      measured: `${fmt(e.eventsPerSecond)} events/s`,
      met: e.eventsPerSecond >= 50_000,
    });
    out.push({
      target: 'export memory',
      goal: 'flat (RSS grows < 50 MB)',
      measured: `${fmt(e.rssBeforeMb)} → ${fmt(e.rssPeakMb)} MB`,
      met: growth < 50,
    });
  }
  if (phases.rss) {
    out.push({
      target: 'project-service peak RSS',
      goal: '< 150 MB',
      measured: `${fmt(phases.rss.projectMb)} MB`,
      met: phases.rss.projectMb < 150,
    });
    out.push({
      target: 'aggregator-service peak RSS',
      goal: '< 150 MB',
      measured: `${fmt(phases.rss.aggregatorMb)} MB`,
      met: phases.rss.aggregatorMb < 150,
    });
  }
  const scans = explain.filter((e) => e.seqScans.length > 0);
  out.push({
    target: 'hot queries use an index',
    goal: `no seq scan over ${LARGE_TABLE_ROWS / 1000}k rows`,
    measured: scans.length ? scans.map((e) => e.name).join(', ') : `all ${explain.length} indexed`,
    met: scans.length === 0,
  });
  return out;
}

const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '–');

function ratios(row: { baseline: Sample[]; service: Sample[] }) {
  const rs = row.service.map((s, i) => (row.baseline[i] ? s.rps / row.baseline[i].rps : NaN)).filter(Number.isFinite);
  return { mean: avg(rs), min: Math.min(...rs), max: Math.max(...rs) };
}

function summaryLine(row: { endpoint: string; baseline: Sample[]; service: Sample[] }): string {
  const r = ratios(row);
  return `${row.endpoint}: service ${fmt(avg(row.service.map((s) => s.rps)))} req/s, baseline ${fmt(avg(row.baseline.map((s) => s.rps)))} req/s, ratio ${fmt(r.mean, 2)}`;
}

/** A side's answers over its rounds: the share of each kind (e.g. apply 67%, same 22%, stale 11%) and how many in all. */
function answers(samples: Sample[]): { shares: Map<string, number>; total: number } {
  const counts = new Map<string, number>();
  for (const s of samples) for (const [k, n] of Object.entries(s.outcomes)) counts.set(k, (counts.get(k) ?? 0) + n);
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const shares = new Map([...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, total ? n / total : 0]));
  return { shares, total };
}

/**
 * The webhook's answers per side (first reports apart), and a warning when the two sides' mixes
 * differ by more than 2 points in any kind (more for a few hundred answers): then the ratio
 * compares workloads, not code.
 */
function outcomeMix(row: Row): string | undefined {
  if (!row.firstReports) return undefined;
  const b = answers(row.baseline);
  const s = answers(row.service);
  const line = (m: Map<string, number>) => [...m].map(([k, v]) => `${k} ${fmt(v * 100, 1)}%`).join(', ');
  const first = row.firstReports;
  const firstLine = `  first reports (${first.service.requests} secrets never seen before): service ${fmt(first.service.rps)} req/s (p99 ${fmt(first.service.p99)} ms), baseline ${first.baseline ? `${fmt(first.baseline.rps)} req/s (p99 ${fmt(first.baseline.p99)} ms)` : '–'}`;
  const kinds = new Set([...b.shares.keys(), ...s.shares.keys()]);
  // The mix repeats every 9 requests, so a few answers more or less at a round's end move a small count's shares.
  const tolerance = Math.max(0.02, 18 / Math.min(b.total, s.total));
  const apart = row.baseline.length > 0 && [...kinds].some((k) => Math.abs((b.shares.get(k) ?? 0) - (s.shares.get(k) ?? 0)) > tolerance);
  return [
    `  answers: service ${line(s.shares)}; baseline ${row.baseline.length ? line(b.shares) : '–'}`,
    firstLine,
    ...(apart ? ['  WARNING: the two sides got different mixes of answers; the ratio compares their workloads, not their code'] : []),
  ].join('\n');
}

function table(rows: Array<{ endpoint: string; baseline: Sample[]; service: Sample[] }>): string {
  const head = [
    'endpoint',
    'svc req/s',
    'base req/s',
    'ratio (min–max)',
    'svc p50/p99 ms',
    'base p50/p99 ms',
    'non-2xx',
    'svc RSS MB',
    'base RSS MB',
    'CPU svc/pg/load',
  ];
  const body = rows.map((row) => {
    const s = row.service;
    const b = row.baseline;
    const r = ratios(row);
    return [
      row.endpoint,
      fmt(avg(s.map((x) => x.rps))),
      fmt(avg(b.map((x) => x.rps))),
      b.length ? `${fmt(r.mean, 2)} (${fmt(r.min, 2)}–${fmt(r.max, 2)})` : '–',
      `${fmt(avg(s.map((x) => x.p50)))}/${fmt(avg(s.map((x) => x.p99)))}`,
      b.length ? `${fmt(avg(b.map((x) => x.p50)))}/${fmt(avg(b.map((x) => x.p99)))}` : '–',
      String(s.reduce((n, x) => n + x.non2xx + x.errors, 0)),
      fmt(Math.max(...s.map((x) => x.rss))),
      b.length ? fmt(Math.max(...b.map((x) => x.rss))) : '–',
      `${fmt(avg(s.map((x) => x.cpu.server)), 2)}/${fmt(avg(s.map((x) => x.cpu.postgres)), 2)}/${fmt(avg(s.map((x) => x.cpu.loader)), 2)}`,
    ];
  });
  return renderTable(head, body);
}

/** A Markdown table (pasted as is into the README). */
function renderTable(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/**
 * A sequential scan is flagged over more rows than this: the tables that grow with use (deployments,
 * events, the outbox); not the 10,000 projects (their count is a 250-page scan) or the counters.
 */
const LARGE_TABLE_ROWS = 50_000;

/** What `explain (format json)` returns: one row, one plan, and (with analyze) its times. */
type ExplainRow = { 'QUERY PLAN': Array<{ Plan: PlanNode; 'Execution Time'?: number; 'Planning Time'?: number }> };
interface PlanNode {
  'Node Type': string;
  'Plan Rows': number;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** EXPLAIN of each hot query with realistic parameters; flags sequential scans of large tables. */
async function explainHotQueries(projectDb: ReturnType<typeof createDb>, aggregatorDb: ReturnType<typeof createDb>) {
  const queries: Array<{ name: string; db: ReturnType<typeof createDb>; sql: string; params: Record<string, unknown> }> = [
    { name: 'projects page', db: projectDb, sql: STATEMENTS.projectPage, params: { limit: 8, offset: 800 } },
    { name: 'project by id', db: projectDb, sql: STATEMENTS.projectById, params: { id: 42 } },
    { name: 'deployments page by status', db: projectDb, ...deploymentsPage(['failed'], 8, 80) },
    { name: 'deployments page, status done', db: projectDb, ...deploymentsPage(['done'], 8, 80) },
    { name: 'deployments page, two statuses', db: projectDb, ...deploymentsPage(['building', 'deploying'], 8, 80) },
    {
      name: 'deployment for a secret (webhook)',
      db: projectDb,
      sql: STATEMENTS.findForSecret,
      params: { id: 42, digest: sha256('secret-42') },
    },
    {
      name: 'events by project (feed)',
      db: aggregatorDb,
      sql: `select * from events where project_id = :projectId order by occurred_at desc, id desc limit 50`,
      params: { projectId: 42 },
    },
  ];
  const out: Array<{ name: string; seqScans: string[] }> = [];
  for (const q of queries) {
    const { rows } = await q.db.raw<{ rows: ExplainRow[] }>(`explain (format json) ${q.sql}`, q.params as Record<string, Knex.Value>);
    const plan = rows[0]!['QUERY PLAN'][0]!.Plan;
    const seqScans: string[] = [];
    const walk = (node: PlanNode) => {
      if (node['Node Type'] === 'Seq Scan' && node['Plan Rows'] > LARGE_TABLE_ROWS)
        seqScans.push(`${node['Relation Name']} (${node['Plan Rows']} rows)`);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(plan);
    out.push({ name: q.name, seqScans });
  }
  return out;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
