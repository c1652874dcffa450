import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_OPTIONS, createLogger, loadDotenv, resolveSecret } from '@hosting/shared';
import { databases } from './databases.js';

/**
 * `npm start`: the whole system on one machine. Starts (or reuses) the embedded PostgreSQL when no
 * database URL is given, then each service as its own process (exactly what a container runs),
 * waits until both answer, and prints the URLs, the tokens and a first curl. On Ctrl-C or
 * SIGTERM it stops the services (SIGTERM, they drain), then the database, and exits 0.
 */
loadDotenv();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = process.env;
const logger = createLogger({ level: env.LOG_LEVEL || 'info', pretty: process.stdout.isTTY, name: 'start' });

const dbs = databases(env, logger);
const projectDatabaseUrl = await dbs.url('project');
const aggregatorDatabaseUrl = await dbs.url('aggregator');
const projectToken = resolveSecret('PROJECT_SERVICE_TOKEN', env).value;
const aggregatorToken = resolveSecret('AGGREGATOR_SERVICE_TOKEN', env).value;
const projectPort = Number(env.PROJECT_SERVICE_PORT || 3000);
const aggregatorPort = Number(env.AGGREGATOR_SERVICE_PORT || 3001);

const childEnv = {
  ...env,
  PROJECT_DATABASE_URL: projectDatabaseUrl,
  AGGREGATOR_DATABASE_URL: aggregatorDatabaseUrl,
  PROJECT_SERVICE_TOKEN: projectToken,
  AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
  PROJECT_SERVICE_PORT: String(projectPort),
  AGGREGATOR_SERVICE_PORT: String(aggregatorPort),
  AGGREGATOR_URL: env.AGGREGATOR_URL || `http://127.0.0.1:${aggregatorPort}`,
  LOG_PRETTY: env.LOG_PRETTY ?? (process.stdout.isTTY ? '1' : '0'),
  NODE_OPTIONS: env.NODE_OPTIONS || SERVICE_NODE_OPTIONS,
};

const children = new Map<string, ChildProcess>();
let stopping = false;

function startService(name: string, main: string): ChildProcess {
  // detached: a child gets its own process group, so Ctrl-C reaches only us and we stop the
  // children in order (services first, then the database they use).
  const child = spawn(process.execPath, [path.join(root, main)], { env: childEnv, stdio: 'inherit', detached: true });
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
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

async function stop(code: number): Promise<never> {
  stopping = true;
  const exits = [...children.values()].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 12_000).unref();
      }),
  );
  await Promise.all(exits);
  await dbs.stop();
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

const aggregator = startService('aggregator-service', 'aggregator-service/dist/src/main.js');
const project = startService('project-service', 'project-service/dist/src/main.js');
try {
  await Promise.all([
    waitForHttp(`http://127.0.0.1:${aggregatorPort}/healthz`, aggregator),
    waitForHttp(`http://127.0.0.1:${projectPort}/healthz`, project),
  ]);
} catch (err) {
  logger.error(`${err instanceof Error ? err.message : String(err)}`);
  await stop(1);
}

/** A seeded project's secret, for the webhook example (our own seed file, in clear by design). */
function sampleSecret(): { id: number; secret: string } | undefined {
  try {
    const [first] = JSON.parse(readFileSync(path.join(root, 'seeds', 'projects.json'), 'utf8')) as Array<{ id: number; app_secret: string }>;
    return first && { id: first.id, secret: first.app_secret };
  } catch {
    return undefined;
  }
}

const p = `http://localhost:${projectPort}`;
const a = `http://localhost:${aggregatorPort}`;
const sample = sampleSecret();
process.stdout.write(
  [
    '',
    'The hosting control plane is running.',
    `  project-service     ${p}   token: ${projectToken}`,
    `  aggregator-service  ${a}   token: ${aggregatorToken}`,
    '',
    'Try it:',
    `  curl -s -H "Authorization: Bearer ${projectToken}" "${p}/projects?page=1"`,
    `  curl -s -X POST -H "Authorization: Bearer ${projectToken}" ${p}/projects/1/deployment`,
    ...(sample
      ? [`  curl -s -X POST -H "Authorization: Bearer ${sample.secret}" -H "Content-Type: application/json" -d '{"id":1,"status":"done"}' ${p}/deployment/webhook`]
      : []),
    `  curl -s -H "Authorization: Bearer ${aggregatorToken}" "${a}/events?limit=5"`,
    '',
    'Ctrl-C stops everything.',
    '',
  ].join('\n'),
);
