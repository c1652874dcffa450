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
import { createDb, freePort, runMigrations, startEmbeddedDb } from '@hosting/shared';
import { FULL, QUICK, generateAggregatorData, generateProjectData } from './generate.js';

/**
 * `npm run bench [-- --quick] [--duration S] [--rounds N]`: the services as users run them
 * (compiled, production mode, logging and metrics on, real tokens) side by side with a bare
 * node:http + pg baseline answering the same routes with the same SQL, loaded with autocannon at
 * 32 connections, interleaved (baseline, service, baseline, service…) so machine noise hits both
 * alike. Prints one table and writes it as JSON under bench/results/.
 */
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
  },
  strict: true,
});
const quick = values.quick;
const duration = Number(values.duration ?? (quick ? 1 : 10));
const rounds = Number(values.rounds ?? (quick ? 1 : 3));
const connections = Number(values.connections);
const size = quick ? QUICK : FULL;
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
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.replace(/\D+/g, '')) / 1024 : 0;
  } catch {
    return 0;
  }
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
  return spawn(process.execPath, args, { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await fetch(url).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

// ---------------------------------------------------------------------------------------------
// Endpoints and their requests

interface Target {
  name: string;
  kind: 'read' | 'write' | 'ingest' | 'other';
  server: 'project' | 'aggregator';
  request: () => { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string };
}

const rand = (n: number) => 1 + Math.floor(Math.random() * n);

function targets(token: string, aggregatorToken: string): Target[] {
  const admin = { authorization: `Bearer ${token}` };
  const pages = Math.ceil(size.projects / 8);
  // Webhooks walk the in-progress deployments (the newest 7%) forward, one step per request:
  // building → deploying → done, as CI systems report them.
  const firstOngoing = Math.floor(size.deployments * 0.93) + 1;
  let next = firstOngoing;
  let step = 0;
  const steps = ['building', 'deploying', 'done'];
  return [
    { name: 'GET /projects?page=N', kind: 'read', server: 'project', request: () => ({ method: 'GET', path: `/projects?page=${rand(pages)}`, headers: admin }) },
    { name: 'GET /projects/:id', kind: 'read', server: 'project', request: () => ({ method: 'GET', path: `/projects/${rand(size.projects)}`, headers: admin }) },
    {
      name: 'GET /deployments?page=N&status=…',
      kind: 'read',
      server: 'project',
      request: () => ({ method: 'GET', path: `/deployments?page=${rand(50)}&status=${['done', 'failed', 'building,deploying'][rand(3) - 1]}`, headers: admin }),
    },
    { name: 'POST /projects/:id/deployment', kind: 'write', server: 'project', request: () => ({ method: 'POST', path: `/projects/${rand(size.projects)}/deployment`, headers: admin }) },
    {
      name: 'POST /deployment/webhook',
      kind: 'write',
      server: 'project',
      request: () => {
        const id = next++;
        if (next > size.deployments) {
          next = firstOngoing;
          step = Math.min(step + 1, steps.length - 1);
        }
        const projectId = 1 + ((id * 7919) % size.projects);
        return {
          method: 'POST',
          path: '/deployment/webhook',
          headers: { authorization: `Bearer secret-${projectId}`, 'content-type': 'application/json' },
          body: JSON.stringify({ id, status: steps[step] }),
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
            eventId: i < 50 && lastBatch[i] ? lastBatch[i]! : randomUUID(),
            name: 'deployment.status_changed',
            occurredAt: new Date().toISOString(),
            payload: { projectId: p, projectName: `project-${p}`, userId: 1 + (p % size.users), deploymentId: rand(size.deployments), source: 'webhook', requestId: null, from: 'building', to: 'deploying', deployedIn: null },
          };
        });
        lastBatch = events.map((e) => e.eventId);
        return { method: 'POST', path: '/events', headers: { authorization: `Bearer ${aggregatorToken}`, 'content-type': 'application/json' }, body: JSON.stringify(events) };
      },
    },
    { name: 'GET /projects/:id/activity', kind: 'other', server: 'project', request: () => ({ method: 'GET', path: `/projects/${rand(size.projects)}/activity`, headers: admin }) },
    { name: 'GET /users/:id/stats', kind: 'other', server: 'project', request: () => ({ method: 'GET', path: `/users/${rand(size.users)}/stats`, headers: admin }) },
  ];
}
let lastBatch: string[] = [];

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  cpu: { server: number; postgres: number; loader: number };
  rss: number;
}

async function load(baseUrl: string, target: Target, pid: number, pgPids: () => number[]): Promise<Sample> {
  const cpu0 = { server: cpuSeconds(pid), postgres: pgPids().reduce((s, p) => s + cpuSeconds(p), 0), loader: process.cpuUsage() };
  let rss = 0;
  const sampler = setInterval(() => (rss = Math.max(rss, rssMb(pid))), 250);
  const result = await autocannon({
    url: baseUrl,
    connections,
    duration,
    requests: [{ setupRequest: (req: any) => ({ ...req, ...target.request() }) }],
  } as any);
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
      postgres: (pgPids().reduce((s, p) => s + cpuSeconds(p), 0) - cpu0.postgres) / wall,
      loader: (loader.user + loader.system) / 1e6 / wall,
    },
    rss,
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const dataDir = path.join(os.tmpdir(), `hosting-bench-${process.pid}`);
  const pgServer = await startEmbeddedDb({ dataDir, port: await freePort(), persistent: false, postgresFlags: ['-c', 'max_connections=200', '-c', 'shared_buffers=512MB'] });
  const children: ChildProcess[] = [];
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
    say(`data: ${size.users} users, ${size.projects} projects, ${size.deployments} deployments in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    await generateAggregatorData(aggregatorDb, size, size.projects, size.users);
    say(`data: ${size.events} events in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    const token = `bench-${randomUUID()}`;
    const aggregatorToken = `bench-${randomUUID()}`;
    const ports = { project: await freePort(), aggregator: await freePort(), baseProject: await freePort(), baseAggregator: await freePort() };
    const common = { NODE_ENV: 'production', LOG_LEVEL: 'info', PROJECT_SERVICE_TOKEN: token, AGGREGATOR_SERVICE_TOKEN: aggregatorToken };
    const aggregator = startProcess(['aggregator-service/dist/src/main.js'], { ...common, AGGREGATOR_DATABASE_URL: aggregatorUrl, AGGREGATOR_SERVICE_PORT: String(ports.aggregator), AGGREGATOR_SERVICE_HOST: '127.0.0.1' });
    const project = startProcess(['project-service/dist/src/main.js'], {
      ...common,
      PROJECT_DATABASE_URL: projectUrl,
      PROJECT_SERVICE_PORT: String(ports.project),
      PROJECT_SERVICE_HOST: '127.0.0.1',
      AGGREGATOR_URL: `http://127.0.0.1:${ports.aggregator}`,
    });
    const baseProject = startProcess(['bench/dist/baseline.js', 'project', String(ports.baseProject), projectUrl, token], {});
    const baseAggregator = startProcess(['bench/dist/baseline.js', 'aggregator', String(ports.baseAggregator), aggregatorUrl, aggregatorToken], {});
    children.push(aggregator, project, baseProject, baseAggregator);
    await Promise.all(Object.values(ports).map((p) => waitFor(`http://127.0.0.1:${p}/`)));

    const pgPids = () => postgresPids(dataDir);
    const rows: Array<{ endpoint: string; kind: string; baseline: Sample[]; service: Sample[] }> = [];
    for (const target of targets(token, aggregatorToken)) {
      if (values.only && !target.name.includes(values.only)) continue;
      const svc = target.server === 'project' ? { url: `http://127.0.0.1:${ports.project}`, pid: project.pid! } : { url: `http://127.0.0.1:${ports.aggregator}`, pid: aggregator.pid! };
      const base = target.server === 'project' ? { url: `http://127.0.0.1:${ports.baseProject}`, pid: baseProject.pid! } : { url: `http://127.0.0.1:${ports.baseAggregator}`, pid: baseAggregator.pid! };
      const row = { endpoint: target.name, kind: target.kind, baseline: [] as Sample[], service: [] as Sample[] };
      // The baseline answers only the routes it knows; endpoints it lacks are measured alone.
      const probe = target.request();
      const baselineKnows = (await fetch(base.url + probe.path, { method: probe.method, headers: probe.headers, body: probe.body })).status !== 404;
      for (let r = 0; r < rounds; r++) {
        if (baselineKnows) row.baseline.push(await load(base.url, target, base.pid, pgPids));
        row.service.push(await load(svc.url, target, svc.pid, pgPids));
      }
      rows.push(row);
      say(summaryLine(row));
    }
    const explain = await explainHotQueries(projectDb, aggregatorDb);
    await projectDb.destroy();
    await aggregatorDb.destroy();
    const report = {
      when: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      settings: { quick, duration, rounds, connections, size },
      results: rows,
      explain,
    };
    say('');
    say(table(rows));
    say('');
    for (const e of explain) say(`${e.seqScans.length ? 'SEQ SCAN ' : 'index    '} ${e.name}${e.seqScans.length ? `: ${e.seqScans.join(', ')}` : ''}`);
    mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
    const file = path.join(root, 'bench', 'results', `${quick ? 'quick' : 'full'}-${report.when.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    say(`\nwritten: ${path.relative(root, file)}`);
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    await pgServer.stop();
  }
}

const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '–');

function ratios(row: { baseline: Sample[]; service: Sample[] }) {
  const rs = row.service.map((s, i) => (row.baseline[i] ? s.rps / row.baseline[i]!.rps : NaN)).filter(Number.isFinite);
  return { mean: avg(rs), min: Math.min(...rs), max: Math.max(...rs) };
}

function summaryLine(row: { endpoint: string; baseline: Sample[]; service: Sample[] }): string {
  const r = ratios(row);
  return `${row.endpoint}: service ${fmt(avg(row.service.map((s) => s.rps)))} req/s, baseline ${fmt(avg(row.baseline.map((s) => s.rps)))} req/s, ratio ${fmt(r.mean, 2)}`;
}

function table(rows: Array<{ endpoint: string; baseline: Sample[]; service: Sample[] }>): string {
  const head = ['endpoint', 'svc req/s', 'base req/s', 'ratio (min–max)', 'svc p50/p99 ms', 'base p50/p99 ms', 'non-2xx', 'svc RSS MB', 'base RSS MB', 'CPU svc/pg/load'];
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
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** EXPLAIN of each hot query with realistic parameters; flags sequential scans of large tables. */
async function explainHotQueries(projectDb: ReturnType<typeof createDb>, aggregatorDb: ReturnType<typeof createDb>) {
  const { DEPLOYMENTS_SQL, PROJECTS_SQL } = await import('@hosting/project-service');
  const queries: Array<{ name: string; db: ReturnType<typeof createDb>; sql: string; bindings: unknown[] }> = [
    { name: 'projects page', db: projectDb, sql: PROJECTS_SQL.page, bindings: [8, 800] },
    { name: 'project by id', db: projectDb, sql: PROJECTS_SQL.byId, bindings: [42] },
    { name: 'deployments page by status', db: projectDb, ...(({ sql, bindings }) => ({ sql, bindings }))(DEPLOYMENTS_SQL.page({ statuses: ['failed'] }, 8, 80)) },
    { name: 'deployment with project (webhook)', db: projectDb, sql: DEPLOYMENTS_SQL.findWithProject, bindings: [42] },
    { name: 'events by project (feed)', db: aggregatorDb, sql: `select * from events where project_id = ? order by occurred_at desc, id desc limit 50`, bindings: [42] },
  ];
  const out: Array<{ name: string; seqScans: string[] }> = [];
  for (const q of queries) {
    const { rows } = await q.db.raw(`explain (format json) ${q.sql}`, q.bindings as any[]);
    const plan = rows[0]['QUERY PLAN'][0].Plan;
    const seqScans: string[] = [];
    const walk = (node: any) => {
      if (node['Node Type'] === 'Seq Scan' && node['Plan Rows'] > 1000) seqScans.push(`${node['Relation Name']} (${node['Plan Rows']} rows)`);
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
