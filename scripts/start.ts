import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedIfEmpty } from '@hosting/project-service';
import {
  ConfigError,
  createDb,
  createLogger,
  dataDir,
  EmbeddedDbError,
  loadDotenv,
  logLevel,
  resolveSecret,
  SERVICE_NODE_OPTIONS,
} from '@hosting/shared';
import { databases, type Service } from './databases.js';
import { AlreadyRunning, claimInstance, describeInstance, runningInstance } from './instance.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { preflight } from './preflight.js';
import { step } from './steps.js';

/**
 * `npm start`: the whole system on one machine. Checks the configuration, starts (or reuses) the
 * embedded PostgreSQL when no database URL is given, applies migrations, seeds an empty database,
 * then starts each service as its own process (exactly what a container runs), waits until both
 * answer, and prints the URLs, the tokens and a first curl; each step is printed with its time.
 *
 * Stopping, whichever way: on Ctrl-C or SIGTERM the services stop first (SIGTERM, they drain),
 * then the database, and it exits 0. The services and the database each run in a process group
 * of their own, so the terminal's Ctrl-C reaches only this process, which stops them in that
 * order. If this process is killed outright, the services see their IPC channel to it close and
 * stop, and the database's watchdog stops the database (shared/src/db/embedded.ts).
 */
loadDotenv();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;
// An invalid LOG_LEVEL is reported by the configuration check; this logger must not throw first.
const logger = createLogger({
  level: logLevel.catch('info').parse(env.LOG_LEVEL || undefined),
  pretty: process.stdout.isTTY,
  name: 'start',
});

const children = new Map<string, ChildProcess>();
let stopping: Promise<never> | undefined;
let release = () => undefined as void;
const dbs = databases(env, logger);

/** Stops the services (they drain), then the database; once, whatever asks first. */
function stop(code: number): Promise<never> {
  stopping ??= (async () => {
    const exits = [...children.values()].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
          setTimeout(() => child.kill('SIGKILL'), 12_000).unref();
        }),
    );
    await Promise.all(exits);
    await dbs.stop().catch((err: unknown) => logger.warn({ err }, 'the embedded PostgreSQL did not stop cleanly'));
    release();
    process.exit(code);
  })();
  return stopping;
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGHUP', () => void stop(0));

/** A user's mistake (configuration, a taken port, an unreachable folder): its message, no stack. */
function fail(err: unknown): Promise<never> {
  if (err instanceof ConfigError || err instanceof EmbeddedDbError || err instanceof AlreadyRunning)
    process.stderr.write(`npm start: ${err.message}\n`);
  else logger.error({ err }, 'npm start failed');
  return stop(1);
}

function startService(name: string, main: string, childEnv: NodeJS.ProcessEnv): ChildProcess {
  // detached: a process group of its own, so Ctrl-C reaches only us and we stop the children in
  // order. The IPC channel tells the child when we are gone, however we ended (main.ts).
  const child = spawn(process.execPath, [path.join(root, main)], {
    env: childEnv,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
  });
  child.channel?.unref();
  children.set(name, child);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) return;
    // A service signalled on its own drains and exits 0: the system then stops as a whole, cleanly.
    if (code === 0) logger.info(`${name} stopped; stopping everything`);
    else logger.error({ code, signal }, `${name} exited unexpectedly; stopping everything`);
    void stop(code === 0 ? 0 : 1);
  });
  return child;
}

async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited before it answered`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(1_000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/** A seeded project's secret, for the webhook example (our own seed file, in clear by design). */
function sampleSecret(): { id: number; secret: string } | undefined {
  try {
    const [first] = JSON.parse(readFileSync(path.join(root, 'seeds', 'projects.json'), 'utf8')) as Array<{
      id: number;
      app_secret: string;
    }>;
    return first && { id: first.id, secret: first.app_secret };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const other = runningInstance(env);
  if (other) {
    process.stderr.write(`npm start: ${describeInstance(other)}\n`);
    process.exit(1);
  }
  const settings = await step('checking the configuration', () => preflight(env));
  const { projectPort, aggregatorPort } = settings;
  release = claimInstance(env, { project: projectPort, aggregator: aggregatorPort, postgres: settings.embedded?.port });

  const urls = {} as Record<Service, string>;
  if (settings.embedded) {
    const embedded = settings.embedded;
    await step(`starting the embedded PostgreSQL on port ${embedded.port} (data in ${embedded.dataDir})`, async () => {
      urls.project = await dbs.url('project');
      urls.aggregator = await dbs.url('aggregator');
      return dbs.embedded?.created ? 'first start: cluster created' : dbs.embedded?.reused ? 'already running, reused' : undefined;
    });
  } else {
    urls.project = await dbs.url('project');
    urls.aggregator = await dbs.url('aggregator');
  }

  await step('applying migrations', async () => {
    const counts: string[] = [];
    for (const [name, migrations] of MIGRATIONS) counts.push(`${name}: ${(await migrate(urls[name], migrations)).length}`);
    return `applied: ${counts.join(', ')}`;
  });

  if (env.NODE_ENV !== 'production') {
    await step('seeding an empty database from seeds/', async () => {
      const db = createDb({ connectionString: urls.project, pool: { max: 1 } });
      try {
        const seeded = await seedIfEmpty(db);
        if (!seeded) return 'not empty, left as it is';
        return `${seeded.created.users.length} users, ${seeded.created.projects.length} projects`;
      } finally {
        await db.destroy();
      }
    });
  }

  const projectToken = resolveSecret('PROJECT_SERVICE_TOKEN', env);
  const aggregatorToken = resolveSecret('AGGREGATOR_SERVICE_TOKEN', env);
  const childEnv = {
    ...env,
    PROJECT_DATABASE_URL: urls.project,
    AGGREGATOR_DATABASE_URL: urls.aggregator,
    PROJECT_SERVICE_TOKEN: projectToken.value,
    AGGREGATOR_SERVICE_TOKEN: aggregatorToken.value,
    PROJECT_SERVICE_PORT: String(projectPort),
    AGGREGATOR_SERVICE_PORT: String(aggregatorPort),
    // Derived unless set on purpose: the aggregator this start runs, on the port it was given.
    AGGREGATOR_URL: env.AGGREGATOR_URL || `http://127.0.0.1:${aggregatorPort}`,
    LOG_PRETTY: env.LOG_PRETTY ?? (process.stdout.isTTY ? '1' : '0'),
    NODE_OPTIONS: env.NODE_OPTIONS || SERVICE_NODE_OPTIONS,
  };

  await step('starting project-service and aggregator-service', async () => {
    const aggregator = startService('aggregator-service', 'aggregator-service/dist/src/main.js', childEnv);
    const project = startService('project-service', 'project-service/dist/src/main.js', childEnv);
    await Promise.all([
      waitForHttp(`http://127.0.0.1:${aggregatorPort}/healthz`, aggregator),
      waitForHttp(`http://127.0.0.1:${projectPort}/healthz`, project),
    ]);
  });

  // The launcher runs this module in its own process: uptime counts from `npm start`'s node.
  process.stdout.write(`npm start: ready ${process.uptime().toFixed(1)} s after the start\n`);
  const generated = (token: { generated: boolean }) =>
    token.generated ? ` (generated now, kept in ${path.join(dataDir(env), 'secrets.json')})` : '';
  const p = `http://localhost:${projectPort}`;
  const a = `http://localhost:${aggregatorPort}`;
  const sample = sampleSecret();
  process.stdout.write(
    [
      '',
      'The hosting control plane is running.',
      `  project-service     ${p}   token: ${projectToken.value}${generated(projectToken)}`,
      `  aggregator-service  ${a}   token: ${aggregatorToken.value}${generated(aggregatorToken)}`,
      '',
      'Try it:',
      `  curl -s -H "Authorization: Bearer ${projectToken.value}" "${p}/projects?page=1"`,
      `  curl -s -X POST -H "Authorization: Bearer ${projectToken.value}" ${p}/projects/1/deployment`,
      ...(sample
        ? [
            `  curl -s -X POST -H "Authorization: Bearer ${sample.secret}" -H "Content-Type: application/json" -d '{"id":1,"status":"done"}' ${p}/deployment/webhook`,
          ]
        : []),
      `  curl -s -H "Authorization: Bearer ${aggregatorToken.value}" "${a}/events?limit=5"`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

await main().catch(fail);
