import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { migrations as projectMigrations } from '@hosting/project-service';
import {
  createDb,
  sha256,
  createLogger,
  freePort,
  memoryRateLimitStore,
  postgresRateLimitStore,
  runMigrations,
  startEmbeddedDb,
  type RateLimitStore,
} from '@hosting/shared';

/**
 * `npm run build && node bench/dist/limits-cost.js [--rounds N] [--requests N] [--pairs N]`: what the
 * rate limits' store costs per request, RATE_LIMIT_STORE=memory against postgres, medians.
 *
 * In isolation (no HTTP, no route), interleaved round by round, so that a shared machine's noise
 * does not drown a few microseconds:
 *
 * - requests: one credential's requests under its budget (the default 300,000 per 10 s) through
 *   `consume`, 32 at a time like the HTTP benchmark's connections: CPU and wall time per request,
 *   and the statements they sent.
 * - failures: 401s from distinct addresses through `penalty`, one at a time: the time each
 *   failure's count takes (one upsert with the postgres store).
 *
 * Then over HTTP: two project-service processes on one database, one per store, loaded in turn
 * (`GET /projects/:id`, one token, 32 connections, 5 s each, the order alternating) for `--pairs`
 * pairs: the median req/s of each and the median ratio within a pair (the machine's state changes
 * less within a pair than across the run).
 */
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '60000' },
    pairs: { type: 'string', default: '8' },
  },
  strict: true,
});
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const FAILURES = 2_000;
const CONCURRENCY = 32;
const say = (line: string) => process.stdout.write(`${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers at ${url}`);
}

/** Two project-service processes, one per store, on `url`; alternating loads of one project's page. */
async function overHttp(url: string, db: ReturnType<typeof createDb>, pairs: number): Promise<void> {
  const [user] = await db('users').insert({ email: 'limits@example.com', username: 'limits' }).returning<Array<{ id: number }>>('id');
  const [project] = await db('projects')
    .insert({ name: 'limits', user_id: user!.id, app_secret_sha256: sha256('limits'.repeat(6)) })
    .returning<Array<{ id: number }>>('id');
  const token = `limits-cost-${process.pid}-0123456789`;
  const ports = { memory: await freePort(), postgres: await freePort() };
  const services = Object.entries(ports).map(([store, port]) =>
    spawn(process.execPath, [path.join(root, 'project-service/dist/src/main.js')], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        PROJECT_SERVICE_TOKEN: token,
        AGGREGATOR_SERVICE_TOKEN: token,
        PROJECT_DATABASE_URL: url,
        PROJECT_SERVICE_PORT: String(port),
        PROJECT_SERVICE_HOST: '127.0.0.1',
        PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        OUTBOX_RELAY_ENABLED: 'false',
        RATE_LIMIT_STORE: store,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  try {
    await Promise.all(Object.values(ports).map((port) => waitFor(`http://127.0.0.1:${port}/healthz`)));
    const rps = { memory: [] as number[], postgres: [] as number[] };
    for (let i = 0; i < pairs; i++) {
      for (const store of i % 2 ? (['postgres', 'memory'] as const) : (['memory', 'postgres'] as const)) {
        const result = await autocannon({
          url: `http://127.0.0.1:${ports[store]}/projects/${project!.id}`,
          connections: CONCURRENCY,
          duration: 5,
          headers: { authorization: `Bearer ${token}` },
        });
        if (result.non2xx > 0) throw new Error(`${store}: ${result.non2xx} answers were not 2xx`);
        rps[store].push(result.requests.average);
      }
    }
    const ratios = rps.memory.map((m, i) => rps.postgres[i]! / m);
    say(
      `HTTP, ${pairs} pairs of 5 s: memory ${Math.round(median(rps.memory))} req/s, postgres ${Math.round(median(rps.postgres))} req/s (medians); postgres ÷ memory within a pair: median ${median(ratios).toFixed(2)}, ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`,
    );
  } finally {
    await Promise.all(
      services.map(
        (child) =>
          new Promise<void>((resolve) =>
            child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')),
          ),
      ),
    );
  }
}

async function main() {
  const dataDir = path.join(os.tmpdir(), `hosting-limits-cost-${process.pid}`);
  const server = await startEmbeddedDb({ dataDir, port: await freePort(), persistent: false });
  const logger = createLogger({ level: 'warn' });
  try {
    await server.ensureDatabase('limits_cost');
    const db = createDb({ connectionString: server.url('limits_cost'), pool: { max: 10 } });
    await runMigrations(db, projectMigrations);
    let statements = 0;
    db.on('query', () => statements++);
    const policy = { points: 300_000, windowSeconds: 10 };
    const stores: Record<string, (round: number) => RateLimitStore> = {
      memory: (round) => memoryRateLimitStore(policy, `m${round}`),
      postgres: (round) => postgresRateLimitStore(db, policy, `p${round}`, logger),
    };
    const results: Record<string, { cpuUs: number[]; wallUs: number[]; statements: number[]; failureMs: number[] }> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [name, make] of Object.entries(stores)) {
        const store = make(round);
        const r = (results[name] ??= { cpuUs: [], wallUs: [], statements: [], failureMs: [] });
        let left = requests;
        statements = 0;
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (left-- > 0) await store.consume('service');
          }),
        );
        const wallNs = Number(process.hrtime.bigint() - t0);
        const cpu = process.cpuUsage(cpu0);
        r.cpuUs.push((cpu.user + cpu.system) / requests);
        r.wallUs.push(wallNs / 1000 / requests);
        r.statements.push(statements);
        const f0 = process.hrtime.bigint();
        for (let i = 0; i < FAILURES; i++) await store.penalty(`10.${round}.${i >> 8}.${i & 255}`);
        r.failureMs.push(Number(process.hrtime.bigint() - f0) / 1e6 / FAILURES);
      }
    }
    say(
      `${rounds} rounds, interleaved; ${requests} requests of one credential, ${CONCURRENCY} at a time; ${FAILURES} failures one at a time`,
    );
    for (const [name, r] of Object.entries(results))
      say(
        `${name}: request CPU ${median(r.cpuUs).toFixed(2)} µs, wall ${median(r.wallUs).toFixed(2)} µs, ${median(r.statements)} statements per ${requests}; failure ${median(r.failureMs).toFixed(3)} ms (medians)`,
      );
    await overHttp(server.url('limits_cost'), db, Number(values.pairs));
    await db.destroy();
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
