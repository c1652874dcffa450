import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
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
  logLevel,
  resolveSecret,
  SERVICE_NODE_OPTIONS,
  type Env,
} from '@hosting/shared';
import { databases, type Service } from './databases.js';
import { AlreadyRunning, claimInstance, describeInstance, runningInstance, type Instance } from './instance.js';
import { MIGRATIONS, migrate } from './migrations.js';
import type { StartSettings } from './preflight.js';
import { step } from './steps.js';

/**
 * What `npm start` (scripts/start.ts) and `npm run cluster` (scripts/cluster.ts) share: the
 * foreground supervisor of the service processes, the database step (embedded PostgreSQL or the
 * URLs, migrations, seeding: once, before any service starts), the services' environment and the
 * closing banner.
 *
 * Stopping, whichever way: on Ctrl-C or SIGTERM the services stop first (SIGTERM, they drain),
 * then whatever the command registered with `afterServices` (the cluster's balancer), then the
 * database, and the process exits. The services and the database each run in a process group of
 * their own, so the terminal's Ctrl-C reaches only this process, which stops them in that order.
 * If this process is killed outright, the services see their IPC channel to it close and stop,
 * and the database's watchdog stops the database (shared/src/db/embedded.ts).
 */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type Command = 'npm start' | 'npm run cluster';

export function createLauncher(command: Command, env: Env) {
  // An invalid LOG_LEVEL is reported by the configuration check; this logger must not throw first.
  const logger = createLogger({
    level: logLevel.catch('info').parse(env.LOG_LEVEL || undefined),
    pretty: process.stdout.isTTY,
    name: command === 'npm start' ? 'start' : 'cluster',
  });
  const children = new Map<string, ChildProcess>();
  const afterServices: Array<() => Promise<void>> = [];
  // Both commands run preflight first, which has checked the given database URLs.
  const dbs = databases(env, { logger, checked: true });
  let stopping: Promise<never> | undefined;
  let release = () => undefined as void;

  /** SIGTERM (the process drains), SIGKILL after `graceMs`; resolves when it has exited. */
  function terminate(child: ChildProcess, graceMs = 12_000): Promise<void> {
    return new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
    });
  }

  /** Stops the services (they drain), then `afterServices`, then the database; once, whatever asks first. */
  function stop(code: number): Promise<never> {
    stopping ??= (async () => {
      await Promise.all([...children.values()].map((child) => terminate(child)));
      for (const next of afterServices) await next().catch((err: unknown) => logger.warn({ err }, 'stopping failed'));
      await dbs.stop().catch((err: unknown) => logger.warn({ err }, 'the embedded PostgreSQL did not stop cleanly'));
      release();
      process.exit(code);
    })();
    return stopping;
  }

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));

  return {
    logger,
    dbs,
    terminate,
    stop,
    /** Runs after every service has stopped, before the database stops. */
    afterServices(run: () => Promise<void>): void {
      afterServices.push(run);
    },
    get stopping(): boolean {
      return stopping !== undefined;
    },
    step<T>(what: string, run: () => Promise<T>): Promise<T> {
      return step(command, what, run);
    },

    /** Refuses when this data folder's npm start or cluster already runs (before anything starts). */
    refuseIfRunning(): void {
      const other = runningInstance(env);
      if (other) {
        process.stderr.write(`${command}: ${describeInstance(other)}\n`);
        process.exit(1);
      }
    },
    claim(ports: Instance['ports']): void {
      release = claimInstance(env, { command, ports });
    },

    /** A user's mistake (configuration, a taken port, an unreachable folder): its message, no stack. */
    fail(err: unknown): Promise<never> {
      if (err instanceof ConfigError || err instanceof EmbeddedDbError || err instanceof AlreadyRunning || err instanceof UserError)
        process.stderr.write(`${command}: ${err.message}\n`);
      else logger.error({ err }, `${command} failed`);
      return stop(1);
    },

    /**
     * Starts a service's compiled main as a process of its own. `onExit` runs when it exits while
     * nothing is stopping (its caller decides: stop everything, or start it again).
     */
    startService(
      name: string,
      main: string,
      childEnv: NodeJS.ProcessEnv,
      onExit: (code: number | null, signal: NodeJS.Signals | null) => void,
      output: StdioOptions = 'inherit',
    ): ChildProcess {
      // detached: a process group of its own, so Ctrl-C reaches only us and we stop the children in
      // order. The IPC channel tells the child when we are gone, however we ended (main.ts).
      const [stdin, stdout, stderr] = typeof output === 'string' ? [output, output, output] : output;
      const child = spawn(process.execPath, [path.join(root, main)], {
        env: childEnv,
        stdio: [stdin ?? 'inherit', stdout ?? 'inherit', stderr ?? 'inherit', 'ipc'],
        detached: true,
      });
      child.channel?.unref();
      children.set(name, child);
      child.on('exit', (code, signal) => {
        if (children.get(name) === child) children.delete(name);
        if (!stopping) onExit(code, signal);
      });
      return child;
    },

    /** The database step: each service's database URL, migrated, the project database seeded when empty. */
    async prepareDatabases(settings: StartSettings): Promise<Record<Service, string>> {
      const urls = {} as Record<Service, string>;
      if (settings.embedded) {
        const embedded = settings.embedded;
        await step(command, `starting the embedded PostgreSQL on port ${embedded.port} (data in ${embedded.dataDir})`, async () => {
          urls.project = await dbs.url('project');
          urls.aggregator = await dbs.url('aggregator');
          return dbs.embedded?.created ? 'first start: cluster created' : dbs.embedded?.reused ? 'already running, reused' : undefined;
        });
      } else {
        urls.project = await dbs.url('project');
        urls.aggregator = await dbs.url('aggregator');
      }

      await step(command, 'applying migrations', async () => {
        const counts: string[] = [];
        for (const [name, migrations] of MIGRATIONS) counts.push(`${name}: ${(await migrate(urls[name], migrations)).length}`);
        return `applied: ${counts.join(', ')}`;
      });

      if (env.NODE_ENV !== 'production') {
        await step(command, 'seeding an empty database from seeds/', async () => {
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
      return urls;
    },
  };
}

export type Launcher = ReturnType<typeof createLauncher>;

/** A mistake the user can fix, reported as its message alone (a missing tool, a bad option). */
export class UserError extends Error {
  override name = 'UserError';
}

/** The tokens (given, or generated once and kept in the data folder) and the environment every service process gets. */
export function serviceEnvironment(env: Env, urls: Record<Service, string>, aggregatorPort: number) {
  const projectToken = resolveSecret('PROJECT_SERVICE_TOKEN', env);
  const aggregatorToken = resolveSecret('AGGREGATOR_SERVICE_TOKEN', env);
  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    PROJECT_DATABASE_URL: urls.project,
    AGGREGATOR_DATABASE_URL: urls.aggregator,
    PROJECT_SERVICE_TOKEN: projectToken.value,
    AGGREGATOR_SERVICE_TOKEN: aggregatorToken.value,
    // Derived unless set on purpose: the aggregator this command runs, on the port it was given.
    AGGREGATOR_URL: env.AGGREGATOR_URL || `http://127.0.0.1:${aggregatorPort}`,
    LOG_PRETTY: env.LOG_PRETTY ?? (process.stdout.isTTY ? '1' : '0'),
    NODE_OPTIONS: env.NODE_OPTIONS || SERVICE_NODE_OPTIONS,
  };
  return { projectToken, aggregatorToken, childEnv };
}

export async function waitForHttp(url: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${url}: the process exited before it answered`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/** The seeded projects' secrets, for the webhook example and the rolling check (our own seed file, in clear by design). */
export function seededProjects(): Array<{ id: number; secret: string }> {
  try {
    const rows = JSON.parse(readFileSync(path.join(root, 'seeds', 'projects.json'), 'utf8')) as Array<{ id: number; app_secret: string }>;
    return rows.map((row) => ({ id: row.id, secret: row.app_secret }));
  } catch {
    return [];
  }
}

/** The closing banner: where each service answers, its token, the first curls. */
export function readyBanner(options: {
  env: Env;
  title: string;
  projectPort: number;
  aggregatorPort: number;
  tokens: ReturnType<typeof serviceEnvironment>;
  layout?: string[];
}): string {
  const { env, projectPort, aggregatorPort } = options;
  const { projectToken, aggregatorToken } = options.tokens;
  const generated = (token: { generated: boolean }) =>
    token.generated ? ` (generated now, kept in ${path.join(dataDir(env), 'secrets.json')})` : '';
  const p = `http://localhost:${projectPort}`;
  const a = `http://localhost:${aggregatorPort}`;
  const [sample] = seededProjects();
  return [
    '',
    options.title,
    `  project-service     ${p}   token: ${projectToken.value}${generated(projectToken)}`,
    `  aggregator-service  ${a}   token: ${aggregatorToken.value}${generated(aggregatorToken)}`,
    ...(options.layout ?? []),
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
  ].join('\n');
}
