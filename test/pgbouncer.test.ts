import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { freePort, sha256 } from '@hosting/shared';
import { createTestDatabase, loadContract, serverUrl, withAdmin, type TestDatabase } from '@hosting/shared/testing';
import { openapiDocument } from '../project-service/src/openapi/document.js';
import { openStream, type StreamClient } from '../project-service/test/sse-client.js';
import { findTool, spawnGroup, stopGroup } from './cluster-tools.js';
import { waitUntilUp } from './processes.js';

/**
 * Both services behind a real PgBouncer in transaction pooling mode (Debian's 1.18, which has no
 * named prepared statements in that mode), as README "Behind PgBouncer" says to run them:
 * DB_PREPARED_STATEMENTS=false, and project-service's LISTEN connections on a direct URL of their
 * own. The key flows run through it with requests in parallel (so transactions land on different
 * server connections): creations, a webhook to done, every event delivered to the real aggregator,
 * every change on a live stream.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pgbouncer = findTool('pgbouncer');
if (!pgbouncer) console.warn('test/pgbouncer.test.ts: pgbouncer is not installed (apt-get install pgbouncer); skipping the PgBouncer run');
const token = 'pgbouncer-test-token-0123456789';
const secret = 'p'.repeat(32);
const contract = loadContract(openapiDocument, { strict: true });

let project: TestDatabase;
let aggregator: TestDatabase;
let dir: string | undefined;
const listenRole = `listen_${randomBytes(4).toString('hex')}`;
const children: ChildProcess[] = [];
const clients: StreamClient[] = [];
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(children.map((c) => stopGroup(c)));
  if (dir) rmSync(dir, { recursive: true, force: true });
  await Promise.all([project?.drop(), aggregator?.drop()]);
  await withAdmin((client) => client.query(`drop role if exists ${listenRole}`)).catch(() => undefined);
});

/** PgBouncer on a free port in transaction mode, in front of the two test databases. */
async function startPgbouncer(): Promise<number> {
  const server = new URL(serverUrl());
  const port = await freePort();
  dir = mkdtempSync(path.join(tmpdir(), 'pgbouncer-test-'));
  const user = decodeURIComponent(server.username);
  const database = (alias: string, name: string) =>
    `${alias} = host=${server.hostname} port=${server.port} dbname=${name} connect_query='SET statement_timeout = 20000'`;
  writeFileSync(path.join(dir, 'userlist.txt'), `"${user}" "${decodeURIComponent(server.password)}"\n`);
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      database('projects', project.name),
      database('aggregator', aggregator.name),
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = plain',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 200',
      'default_pool_size = 4',
      'ignore_startup_parameters = statement_timeout',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root; a root test run hands it to nobody (who must read the files).
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(dir, 0o777);
    for (const f of ['userlist.txt', 'pgbouncer.ini']) chmodSync(path.join(dir, f), 0o644);
  }
  children.push(spawnGroup(pgbouncer!, ['-q', ...(asRoot ? ['-u', 'nobody'] : []), path.join(dir, 'pgbouncer.ini')], {}));
  const url = `postgres://${server.username}:${server.password}@127.0.0.1:${port}/projects`;
  for (let i = 0; ; i++) {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return port;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (i > 100) throw new Error(`pgbouncer did not start: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function post(port: number, url: string, auth: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}${url}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
}

(pgbouncer ? it : it.skip)(
  'creations, a webhook to done, delivery to the aggregator and a live stream, all through PgBouncer in transaction mode',
  async () => {
    [project, aggregator] = await Promise.all([createTestDatabase('project'), createTestDatabase('aggregator')]);
    const [user] = await project.db('users').insert({ email: 'b@example.com', username: 'b' }).returning('id');
    const [p] = await project
      .db('projects')
      .insert({ name: 'b', user_id: user!.id, app_secret_sha256: sha256(secret) })
      .returning('id');
    await withAdmin((client) => client.query(`create role ${listenRole} login password 'listen-password'`));
    const bouncerPort = await startPgbouncer();
    const server = new URL(serverUrl());
    const viaBouncer = (alias: string) => `postgres://${server.username}:${server.password}@127.0.0.1:${bouncerPort}/${alias}`;
    const direct = new URL(project.url);
    direct.username = listenRole;
    direct.password = 'listen-password';

    const [projectPort, aggregatorPort] = [await freePort(), await freePort()];
    const common = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      PROJECT_SERVICE_TOKEN: token,
      AGGREGATOR_SERVICE_TOKEN: token,
      DB_PREPARED_STATEMENTS: 'false',
      DB_POOL_MAX: '8',
      PUBLIC_BASE_URL: 'http://localhost:3000',
    };
    children.push(
      spawnGroup(process.execPath, [path.join(root, 'aggregator-service/dist/src/main.js')], {
        ...common,
        AGGREGATOR_DATABASE_URL: viaBouncer('aggregator'),
        AGGREGATOR_SERVICE_PORT: String(aggregatorPort),
        AGGREGATOR_SERVICE_HOST: '127.0.0.1',
      }),
      spawnGroup(process.execPath, [path.join(root, 'project-service/dist/src/main.js')], {
        ...common,
        PROJECT_DATABASE_URL: viaBouncer('projects'),
        PROJECT_DATABASE_LISTEN_URL: direct.toString(),
        PROJECT_SERVICE_PORT: String(projectPort),
        PROJECT_SERVICE_HOST: '127.0.0.1',
        AGGREGATOR_URL: `http://127.0.0.1:${aggregatorPort}`,
        STREAM_HEARTBEAT_MS: '500',
        RATE_LIMIT_AUTH_FAILURES: '3',
      }),
    );
    await Promise.all([waitUntilUp(projectPort), waitUntilUp(aggregatorPort)]);

    const stream = openStream(`http://127.0.0.1:${projectPort}/projects/${p!.id}/deployments/stream`, { token, contract });
    clients.push(stream);
    await stream.opened;

    // Many statements at once over 8 client connections and 4 server connections.
    const created = await Promise.all(Array.from({ length: 12 }, () => post(projectPort, `/projects/${p!.id}/deployments`, token)));
    expect(created.map((c) => c.status)).toEqual(created.map(() => 201));
    const id = created[0]!.body.id as number;
    expect((await post(projectPort, '/deployment/webhook', secret, { id, status: 'building' })).status).toBe(200);
    const done = await post(projectPort, '/deployment/webhook', secret, { id, status: 'done' });
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('done');
    const reads = await Promise.all(
      Array.from({ length: 12 }, () =>
        fetch(`http://127.0.0.1:${projectPort}/projects/${p!.id}`, { headers: { authorization: `Bearer ${token}` } }),
      ),
    );
    expect(reads.map((r) => r.status)).toEqual(reads.map(() => 200));

    // Every change on the live stream, every event at the aggregator (through PgBouncer too).
    const events = await stream.waitFor(14, 10_000);
    expect(events.filter((e) => e.data.id === id).map((e) => e.data.status)).toEqual(['pending', 'building', 'done']);
    const outboxRows = Number((await project.db('outbox').count<{ count: number }[]>('* as count'))[0]!.count);
    expect(outboxRows).toBeGreaterThanOrEqual(14);
    const deadline = Date.now() + 15_000;
    let stored = 0;
    while (Date.now() < deadline && stored < outboxRows) {
      stored = Number((await aggregator.db('events').count<{ count: number }[]>('* as count'))[0]!.count);
      if (stored < outboxRows) await new Promise((r) => setTimeout(r, 200));
    }
    expect(stored).toBe(outboxRows);

    // The relay's and the hub's LISTEN sessions are on the direct URL (its own role), not PgBouncer.
    const listening = await withAdmin((client) =>
      client.query(`select application_name from pg_stat_activity where usename = $1 and query ilike 'listen%' order by 1`, [listenRole]),
    );
    expect(listening.rows.map((r) => r.application_name)).toEqual(['deployment-stream-listen', 'outbox-relay-listen']);
    expect(stream.problems).toEqual([]);

    // The limits shared by replicas (RATE_LIMIT_STORE=postgres, the default) count through PgBouncer
    // too: the failed-authentication limit trips at its count, and the count is a row in the database.
    const refused: number[] = [];
    for (let i = 0; i < 4; i++)
      refused.push((await fetch(`http://127.0.0.1:${projectPort}/projects`, { headers: { authorization: 'Bearer wrong-token' } })).status);
    expect(refused).toEqual([401, 401, 401, 429]);
    const counted = await project.db.raw<{ rows: Array<{ points: number }> }>(`select points from rate_limits.counts where points >= 3`);
    expect(counted.rows).toHaveLength(1);
  },
  60_000,
);
