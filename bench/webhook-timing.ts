import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { migrations } from '@hosting/project-service';
import { createDb, freePort, runMigrations, startEmbeddedDb } from '@hosting/shared';
import { QUICK, generateProjectData } from './generate.js';

/**
 * `npm run build && node bench/dist/webhook-timing.js [--samples N]`: can an outsider tell which
 * deployment ids exist from how fast `POST /deployment/webhook` refuses a wrong secret? Starts
 * project-service as users run it (compiled, production mode) on its own embedded PostgreSQL with
 * the quick data set, then sends wrong-secret webhooks one at a time over one keep-alive
 * connection, a known id and an unknown one in random order in each pair, and prints the median
 * time of each, their difference and the median of each pair's difference (the two requests of a
 * pair run back to back, so machine noise hits both alike; positive: the known id is slower), then
 * the median of as many webhooks with the right secret that change nothing (the lookup's cost). The failed-authentication
 * limit is raised for the run so that every request reaches the lookup. Results: WRITEUP "Threat model".
 */
const { values } = parseArgs({
  options: { samples: { type: 'string', default: '2000' }, warmup: { type: 'string', default: '300' } },
  strict: true,
});
const samples = Number(values.samples);
const warmup = Number(values.warmup);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function post(
  port: number,
  id: number,
  secret = 'wrong-secret-of-the-same-length!',
  status = 'done',
): Promise<{ ms: number; status: number }> {
  const body = JSON.stringify({ id, status });
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: '/deployment/webhook',
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main() {
  const dataDir = path.join(os.tmpdir(), `hosting-webhook-timing-${process.pid}`);
  const pgServer = await startEmbeddedDb({ dataDir, port: await freePort(), persistent: false });
  let child: ReturnType<typeof spawn> | undefined;
  try {
    await pgServer.ensureDatabase('timing_projects');
    const url = pgServer.url('timing_projects');
    const db = createDb({ connectionString: url, pool: { max: 2 } });
    await runMigrations(db, migrations);
    await generateProjectData(db, QUICK);
    const { rows } = await db.raw<{ rows: Array<{ max: number }> }>('select max(id)::int as max from deployments');
    const known = Math.floor(rows[0]!.max / 2);
    const unknown = rows[0]!.max + 1_000;
    // generate.ts gives project p the secret `secret-<p>`: the right secret and the status the
    // deployment already has, for the valid path that changes nothing (a duplicate report).
    const row = await db('deployments').where({ id: known }).first('project_id', 'status');
    await db.destroy();

    const port = await freePort();
    child = spawn(process.execPath, ['project-service/dist/src/main.js'], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        PROJECT_DATABASE_URL: url,
        PROJECT_SERVICE_PORT: String(port),
        PROJECT_SERVICE_HOST: '127.0.0.1',
        PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        PROJECT_SERVICE_TOKEN: `timing-${randomUUID()}`,
        AGGREGATOR_SERVICE_TOKEN: `timing-${randomUUID()}`,
        OUTBOX_RELAY_ENABLED: 'false',
        RATE_LIMIT_AUTH_FAILURES: '1000000',
      },
    });
    for (let i = 0; ; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/healthz`).then(
          () => true,
          () => false,
        )
      )
        break;
      if (i > 300) throw new Error('project-service did not start');
      await new Promise((r) => setTimeout(r, 100));
    }

    for (let i = 0; i < warmup; i++) await post(port, i % 2 ? known : unknown);
    const times = { known: [] as number[], unknown: [] as number[] };
    const pairDiffs: number[] = [];
    const statuses = new Set<number>();
    for (let i = 0; i < samples; i++) {
      const order = Math.random() < 0.5 ? (['known', 'unknown'] as const) : (['unknown', 'known'] as const);
      for (const which of order) {
        const { ms, status } = await post(port, which === 'known' ? known : unknown);
        statuses.add(status);
        times[which].push(ms);
      }
      pairDiffs.push(times.known.at(-1)! - times.unknown.at(-1)!);
    }
    const valid: number[] = [];
    for (let i = 0; i < samples; i++) {
      const { ms, status } = await post(port, known, `secret-${row!.project_id}`, row!.status);
      if (status !== 200) throw new Error(`a valid webhook got ${status}`);
      valid.push(ms);
    }
    const k = median(times.known) * 1000;
    const u = median(times.unknown) * 1000;
    process.stdout.write(
      `webhook, wrong secret, ${samples} interleaved pairs (statuses ${[...statuses].join(', ')}): ` +
        `known id median ${k.toFixed(0)} µs, unknown id median ${u.toFixed(0)} µs, difference ${(k - u).toFixed(0)} µs; ` +
        `median of the pairs' differences ${(median(pairDiffs) * 1000).toFixed(0)} µs; ` +
        `right secret (a duplicate report, no write) median ${(median(valid) * 1000).toFixed(0)} µs\n`,
    );
  } finally {
    agent.destroy();
    if (child?.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await pgServer.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
