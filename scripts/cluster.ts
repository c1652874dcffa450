import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dataDir, freePort, loadDotenv, parseEnv } from '@hosting/shared';
import { clusterEnv } from './cluster-config.js';
import { findTool, startHaproxy, stopHaproxy } from './cluster-haproxy.js';
import { formatRollingCheck, rollingCheckPassed, runRollingCheck, type RestartableReplica } from './cluster-rolling-check.js';
import { drainDelayMs, healthChecks, renderHaproxyConfig, riseDelayMs } from './haproxy-config.js';
import { createLauncher, readyBanner, root, seededProjects, serviceEnvironment, UserError, waitForHttp } from './launcher.js';
import { preflight } from './preflight.js';

/**
 * `npm run cluster [-- --rolling-check [--duration 60] [--replicas 2]]`: the system as it runs past
 * one process, in the foreground like `npm start` and on the same launcher (scripts/launcher.ts):
 * the databases (embedded or the URLs; migrated and seeded once, before any replica starts),
 * CLUSTER_REPLICAS processes of each service on ports of their own (127.0.0.1, picked free at
 * start and kept for the run, since the balancer's configuration names them), and HAProxy on the
 * services' usual ports (PROJECT_SERVICE_PORT, AGGREGATOR_SERVICE_PORT) with ops/haproxy/haproxy.cfg,
 * only its addresses changed. A replica that exits is started again, with a growing delay.
 *
 * Every replica drains on SIGTERM for as long as the balancer needs to take it out (derived from
 * the configuration's health checks, see `drainDelayMs`). Ctrl-C stops the replicas (they drain,
 * all at once), then HAProxy, then the database.
 *
 * `--rolling-check`: once everything is up, steady load through HAProxy while every replica is
 * restarted in turn (scripts/cluster-rolling-check.ts); its figures are the last line printed, then
 * everything stops and the exit status tells whether nothing was lost.
 */
loadDotenv();
const env = process.env;
const { values: options } = parseArgs({
  args: process.argv.slice(2),
  options: {
    'rolling-check': { type: 'boolean', default: false },
    duration: { type: 'string', default: '60' },
    replicas: { type: 'string' },
  },
  strict: true,
});
const launcher = createLauncher('npm run cluster', env);
const { logger } = launcher;
const say = (line: string) => process.stdout.write(`npm run cluster: ${line}\n`);

const SERVICES = {
  project: {
    name: 'project-service',
    main: 'project-service/dist/src/main.js',
    port: 'PROJECT_SERVICE_PORT',
    host: 'PROJECT_SERVICE_HOST',
  },
  aggregator: {
    name: 'aggregator-service',
    main: 'aggregator-service/dist/src/main.js',
    port: 'AGGREGATOR_SERVICE_PORT',
    host: 'AGGREGATOR_SERVICE_HOST',
  },
} as const;
type ServiceKey = keyof typeof SERVICES;

interface Replica {
  name: string;
  service: ServiceKey;
  port: number;
  child?: ChildProcess;
  /** Exits in a row that came soon after a start: the next start waits longer. */
  quickExits: number;
  startedAt: number;
  /** While the rolling check restarts it, its exit is not the supervisor's business. */
  held: boolean;
}

/** Restarts wait 1 s, 2 s, 4 s … up to 30 s while a replica keeps exiting within a minute of its start. */
function backoffMs(quickExits: number): number {
  return Math.min(30_000, 1_000 * 2 ** Math.max(0, quickExits - 1));
}

function number(option: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new UserError(`--${option} ${text}: give a whole number of at least ${min}`);
  return value;
}

async function main(): Promise<void> {
  launcher.refuseIfRunning();
  const haproxy = findTool('haproxy');
  if (!haproxy)
    throw new UserError(
      'HAProxy is not installed; install it (Debian and Ubuntu: sudo apt-get install haproxy) and run npm run cluster again',
    );
  const replicas = options.replicas === undefined ? parseEnv(clusterEnv, env).CLUSTER_REPLICAS : number('replicas', options.replicas, 1);
  const durationS = number('duration', options.duration, 1);
  const settings = await launcher.step('checking the configuration', () => preflight(env));
  const { projectPort, aggregatorPort } = settings;
  launcher.claim({ project: projectPort, aggregator: aggregatorPort, postgres: settings.embedded?.port });
  const urls = await launcher.prepareDatabases(settings);

  const shipped = readFileSync(path.join(root, 'ops/haproxy/haproxy.cfg'), 'utf8');
  const checks = healthChecks(shipped);
  // A larger drain set on purpose is kept; a smaller one (0, the single-process default) is not enough here.
  const drainMs = Math.max(drainDelayMs(checks), settings.drainDelayMs);

  // This run's logs only: the folder is emptied at each start (HAProxy logs a line per request).
  const folder = path.join(dataDir(env), 'cluster');
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  const all: Replica[] = [];
  for (const service of ['project', 'aggregator'] as const)
    for (let i = 1; i <= replicas; i++)
      all.push({ name: `${SERVICES[service].name}-${i}`, service, port: await freePort(), quickExits: 0, startedAt: 0, held: false });

  const tokens = serviceEnvironment(env, urls, aggregatorPort);
  // HAProxy is a proxy in front of every replica (and a proxy configured in front of it stays believed).
  const trustProxy = String(Math.max(1, settings.trustProxy));
  // The rolling check's load would flood the terminal with one log line per request: each replica's log goes to a file then.
  const logFile = (name: string) => (options['rolling-check'] ? openSync(path.join(folder, `${name}.log`), 'a') : undefined);

  function launch(replica: Replica): ChildProcess {
    const service = SERVICES[replica.service];
    const log = logFile(replica.name);
    replica.startedAt = Date.now();
    replica.child = launcher.startService(
      replica.name,
      service.main,
      {
        ...tokens.childEnv,
        [service.port]: String(replica.port),
        [service.host]: '127.0.0.1',
        SHUTDOWN_DRAIN_DELAY_MS: String(drainMs),
        TRUST_PROXY: trustProxy,
      },
      (code, signal) => {
        if (replica.held) return;
        replica.quickExits = Date.now() - replica.startedAt < 60_000 ? replica.quickExits + 1 : 0;
        const delay = backoffMs(replica.quickExits);
        logger.warn(`${replica.name} exited (${signal ?? `code ${code}`}); starting it again in ${delay / 1000} s`);
        setTimeout(() => {
          if (!launcher.stopping) launch(replica);
        }, delay).unref();
      },
      log === undefined ? 'inherit' : ['ignore', log, log],
    );
    if (log !== undefined) closeSync(log);
    return replica.child;
  }
  const ready = (replica: Replica) => waitForHttp(`http://127.0.0.1:${replica.port}/readyz`, replica.child!);

  await launcher.step(`starting ${replicas} replica${replicas > 1 ? 's' : ''} of each service`, async () => {
    all.forEach(launch);
    await Promise.all(all.map(ready));
  });

  const host = (variable: 'PROJECT_SERVICE_HOST' | 'AGGREGATOR_SERVICE_HOST') =>
    (env[variable] || '0.0.0.0') === '0.0.0.0' ? '' : env[variable];
  const config = path.join(folder, 'haproxy.cfg');
  writeFileSync(
    config,
    renderHaproxyConfig(shipped, {
      project: {
        bind: `${host('PROJECT_SERVICE_HOST')}:${projectPort}`,
        servers: all.filter((r) => r.service === 'project').map((r) => `127.0.0.1:${r.port}`),
      },
      aggregator: {
        bind: `${host('AGGREGATOR_SERVICE_HOST')}:${aggregatorPort}`,
        servers: all.filter((r) => r.service === 'aggregator').map((r) => `127.0.0.1:${r.port}`),
      },
    }),
  );
  const haproxyLog = path.join(folder, 'haproxy.log');
  let balancer: ChildProcess | undefined;
  let balancerQuickExits = 0;
  function launchBalancer(): ChildProcess {
    const log = openSync(haproxyLog, 'a');
    const startedAt = Date.now();
    const child = startHaproxy(haproxy!, config, log);
    closeSync(log);
    child.once('exit', (code, signal) => {
      if (launcher.stopping || balancer !== child) return;
      balancerQuickExits = Date.now() - startedAt < 60_000 ? balancerQuickExits + 1 : 0;
      const delay = backoffMs(balancerQuickExits);
      logger.warn(`HAProxy exited (${signal ?? `code ${code}`}); starting it again in ${delay / 1000} s`);
      setTimeout(() => {
        if (!launcher.stopping) balancer = launchBalancer();
      }, delay).unref();
    });
    return child;
  }
  launcher.afterServices(async () => {
    if (balancer) await stopHaproxy(balancer);
  });
  await launcher.step(`starting HAProxy on ports ${projectPort} and ${aggregatorPort}`, async () => {
    balancer = launchBalancer();
    try {
      await Promise.all([
        waitForHttp(`http://127.0.0.1:${projectPort}/readyz`, balancer),
        waitForHttp(`http://127.0.0.1:${aggregatorPort}/readyz`, balancer),
      ]);
    } catch {
      const last = readFileSync(haproxyLog, 'utf8').trimEnd().split('\n').slice(-5).join('\n  ');
      throw new UserError(`HAProxy did not start; the end of its log (${haproxyLog}):\n  ${last}`);
    }
  });

  const layout = [
    '',
    `Behind HAProxy (pid ${balancer!.pid}; configuration ${config}, log ${haproxyLog}):`,
    ...all.map(
      (r) =>
        `  ${(r.service === 'project' ? `:${projectPort}` : `:${aggregatorPort}`).padEnd(7)} → ${r.name.padEnd(22)} 127.0.0.1:${r.port}   pid ${r.child!.pid}`,
    ),
    `  /readyz checked every ${checks.interMs / 1000} s, out after ${checks.fall} failures; each replica drains ${drainMs / 1000} s on SIGTERM.`,
  ];
  process.stdout.write(`npm run cluster: ready ${process.uptime().toFixed(1)} s after the start\n`);
  process.stdout.write(
    readyBanner({ env, title: 'The hosting control plane is running as a cluster.', projectPort, aggregatorPort, tokens, layout }),
  );
  if (!options['rolling-check']) return;

  /** SIGTERM, wait for its exit, start it again, wait until it answers and the balancer sends it traffic again. */
  const restartable = all.map((replica): RestartableReplica => ({
    name: replica.name,
    async restart() {
      replica.held = true;
      try {
        const child = replica.child!;
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        await launcher.terminate(child);
        const code = await exited;
        if (launcher.stopping) return code;
        launch(replica);
        await ready(replica);
        await new Promise((r) => setTimeout(r, riseDelayMs(checks)));
        return code;
      } finally {
        replica.held = false;
      }
    },
  }));
  say(`rolling check: ${durationS} s of load through HAProxy while every replica is restarted in turn`);
  const report = await runRollingCheck({
    projectUrl: `http://127.0.0.1:${projectPort}`,
    aggregatorUrl: `http://127.0.0.1:${aggregatorPort}`,
    projectToken: tokens.projectToken.value,
    aggregatorToken: tokens.aggregatorToken.value,
    projectDbUrl: urls.project,
    aggregatorDbUrl: urls.aggregator,
    projects: seededProjects().slice(0, 6),
    projectReplicas: restartable.filter((_, i) => all[i]!.service === 'project'),
    aggregatorReplicas: restartable.filter((_, i) => all[i]!.service === 'aggregator'),
    durationMs: durationS * 1000,
    log: say,
  });
  process.stdout.write(`${formatRollingCheck(report)}\n`);
  await launcher.stop(rollingCheckPassed(report) ? 0 : 1);
}

await main().catch((err: unknown) => launcher.fail(err));
