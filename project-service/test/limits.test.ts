import pg from 'pg';
import { createDb, listen, type Knex, type LimitsConfig, type RunningServer } from '@hosting/shared';
import { createTestDatabase, listenLocally, rawExchange, type LocalServer, type TestDatabase } from '@hosting/shared/testing';
import { loadConfig } from '../src/config.js';
import type { DeploymentStreamHub } from '../src/features/stream/stream-hub.js';
import { openapiDocument } from '../src/openapi/document.js';
import {
  createApp,
  factories,
  fetchChecked,
  httpClient,
  logCapture,
  ownContract,
  projectContract,
  testService,
  type Call,
  type TestService,
  testStreamHub,
} from './helpers.js';
import { openStream } from './sse-client.js';

/**
 * The limits of project-service (issue 6) over its real HTTP stack and database: the body cap of
 * every route that takes a body (also against a lying Content-Length and a chunked body), the
 * page cap, the failed-authentication guard and the per-credential rate limit (429 + headers, the
 * webhook's app secret included), and the request timeout (503) with a real lock holding a table.
 * No refused request writes anything.
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const contract = projectContract();

/**
 * A 429's Retry-After points at the end of a window of `windowSeconds` that began no earlier than
 * `since` (a Date.now()): whole seconds, at most the window, at least what is left of it now.
 */
function expectRetryAtWindowEnd(retryAfter: string | undefined, windowSeconds: number, since: number): void {
  expect(retryAfter).toMatch(/^[0-9]+$/);
  expect(Number(retryAfter)).toBeLessThanOrEqual(windowSeconds);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(windowSeconds - (Date.now() - since) / 1000);
}

/** Rows of every table: what a refused request must leave as it was. */
async function rowCounts(db: Knex): Promise<Record<string, number>> {
  const { rows } = await db.raw<{ rows: Array<{ table_name: string }> }>(
    `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'knex_%' order by 1`,
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of rows) counts[table_name] = Number((await db(table_name).count({ n: '*' }))[0]!.n);
  return counts;
}

/** The operations of our document that take a body, with a concrete path. */
function bodyOperations(ids: {
  project: number;
  deployment: number;
}): Array<{ method: 'post' | 'put' | 'patch'; template: string; path: string }> {
  const found = [];
  for (const [template, item] of Object.entries(openapiDocument.paths)) {
    for (const method of ['post', 'put', 'patch'] as const) {
      if (!item[method]?.requestBody) continue;
      const id = template.startsWith('/projects/') ? ids.project : ids.deployment;
      found.push({ method, template, path: template.replace(/\{[^}]+\}/g, String(id)) });
    }
  }
  return found;
}

/** The body cap of a route: the webhook's 4 kB, the API's 16 kB. */
const capOf = (template: string) => (template === '/deployment/webhook' ? 4 * 1024 : 16 * 1024);

/** A JSON object of exactly `bytes` bytes. */
function jsonOfSize(bytes: number): string {
  const shell = '{"pad":""}';
  return `{"pad":"${'x'.repeat(bytes - shell.length)}"}`;
}

describe('body caps', () => {
  let svc: TestService;
  let server: LocalServer;
  let ids: { project: number; deployment: number; secret: string };
  beforeAll(async () => {
    svc = await testService();
    server = await listenLocally(svc.app.callback());
    const project = await svc.make.project();
    const deployment = await svc.make.deployment(project.id, 'building');
    ids = { project: project.id, deployment: deployment.id, secret: project.secret };
  });
  afterAll(async () => {
    await server.close();
    await svc.close();
  });
  const tokenFor = (template: string) => (template === '/deployment/webhook' ? ids.secret : svc.token);

  it('knows every route that takes a body', () => {
    expect(bodyOperations(ids).map((o) => `${o.method} ${o.template}`)).toEqual(
      expect.arrayContaining([
        'post /projects/{id}/deployment',
        'post /projects/{id}/deployments',
        'post /deployments/{id}/cancel',
        'post /deployment/webhook',
      ]),
    );
  });

  it("answers 413 in the error shape one byte over each route's cap, and reads a body at the cap", async () => {
    const before = await rowCounts(svc.db);
    for (const op of bodyOperations(ids)) {
      const cap = capOf(op.template);
      const over = await svc.call(op.method, op.path, {
        token: tokenFor(op.template),
        raw: jsonOfSize(cap + 1),
        headers: { 'Content-Type': 'application/json' },
      });
      expect([op.path, over.status]).toEqual([op.path, 413]);
      expect(over.body).toMatchObject({ name: 'PayloadTooLargeError', status: 413, requestId: over.headers['x-request-id'] });
      // At the cap the body is read: `pad` is not a field of any of these bodies, a 400 naming it.
      const at = await svc.call(op.method, op.path, {
        token: tokenFor(op.template),
        raw: jsonOfSize(cap),
        headers: { 'Content-Type': 'application/json' },
      });
      expect([op.path, at.status]).toEqual([op.path, 400]);
      expect(JSON.stringify(at.body.issues)).toContain('pad');
    }
    expect(await rowCounts(svc.db)).toEqual(before);
  });

  it('a body the API takes is too large for the webhook: the caps are per route', async () => {
    const body = jsonOfSize(8 * 1024);
    const api = await svc.call('post', `/projects/${ids.project}/deployment`, {
      raw: body,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(api.status).toBe(400);
    const hook = await svc.call('post', '/deployment/webhook', {
      token: ids.secret,
      raw: body,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(hook.status).toBe(413);
  });

  it('answers 413 at once to a Content-Length over the cap, without waiting for the body', async () => {
    const before = await rowCounts(svc.db);
    for (const op of bodyOperations(ids)) {
      const head =
        `${op.method.toUpperCase()} ${op.path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokenFor(op.template)}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 104857600\r\nConnection: close\r\n\r\n`;
      const res = await rawExchange(server.port, head, ['{"status":']); // 100 MB announced, 10 bytes sent
      expect([op.path, res.status]).toEqual([op.path, 413]);
      contract.check(op.method, op.path, res.status, res.body, res.headers['content-type'], res.headers);
    }
    expect(await rowCounts(svc.db)).toEqual(before);
  });

  it('answers 413 to a chunked body without Content-Length once it passes the cap, before it ends', async () => {
    const before = await rowCounts(svc.db);
    for (const op of bodyOperations(ids)) {
      const head =
        `${op.method.toUpperCase()} ${op.path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokenFor(op.template)}\r\n` +
        `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
      const chunk = 'x'.repeat(1024);
      const chunks = [`1\r\n[\r\n`, ...Array.from({ length: capOf(op.template) / 1024 + 4 }, () => `400\r\n${chunk}\r\n`)]; // never the last chunk
      const res = await rawExchange(server.port, head, chunks);
      expect([op.path, res.status]).toEqual([op.path, 413]);
      contract.check(op.method, op.path, res.status, res.body, res.headers['content-type'], res.headers);
    }
    expect(await rowCounts(svc.db)).toEqual(before);
  });

  // Node's HTTP parser takes the bytes past the announced length for a next request and refuses the
  // connection with its own bare 400 (no JSON body: it is below the app; see the report).
  it("reads no more than a Content-Length under the body's real size: a 400, nothing is written", async () => {
    const before = await rowCounts(svc.db);
    const body = JSON.stringify({ id: ids.deployment, status: 'done' });
    const head =
      `POST /deployment/webhook HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ids.secret}\r\n` +
      `Content-Type: application/json\r\nContent-Length: 10\r\nConnection: close\r\n\r\n`;
    const res = await rawExchange(server.port, head, [body + 'x'.repeat(20_000)]);
    expect(res.status).toBe(400);
    expect(await rowCounts(svc.db)).toEqual(before);
    expect((await svc.db('deployments').where({ id: ids.deployment }).first())?.status).toBe('building');
  });

  it.each(['/projects', '/deployments'])('caps %s?page at 1,000,000 with a 400 naming the parameter', async (path) => {
    const res = await svc.call('get', `${path}?page=1000001`);
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([expect.objectContaining({ path: 'query.page' })]);
    expect((await svc.call('get', `${path}?page=1000000`)).status).toBe(200);
  });
});

describe('rate limits', () => {
  it('after RATE_LIMIT_AUTH_FAILURES 401s from an address (admin token or app secret), answers its further failures 429, while its good credentials still pass', async () => {
    // An hour's window: however slow the machine, every request below falls in the window of the
    // first failure (the window's end has a test of its own).
    const svc = await testService({ limits: { RATE_LIMIT_AUTH_FAILURES: 3, RATE_LIMIT_AUTH_WINDOW_S: 3_600 } });
    try {
      const project = await svc.make.project();
      const deployment = await svc.make.deployment(project.id, 'building');
      const began = Date.now();
      expect((await svc.call('get', '/projects', { token: 'a-guessed-token-1234' })).status).toBe(401);
      expect((await svc.call('get', '/projects', { token: null })).status).toBe(401);
      expect(
        (await svc.call('post', '/deployment/webhook', { token: 'a-guessed-app-secret', body: { id: deployment.id, status: 'done' } }))
          .status,
      ).toBe(401);
      const before = await rowCounts(svc.db);

      const refused = await svc.call('get', '/projects', { token: 'a-guessed-token-5678' });
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ name: 'TooManyRequestsError', status: 429, requestId: refused.headers['x-request-id'] });
      expect(refused.headers).toMatchObject({
        'ratelimit-limit': '3',
        'ratelimit-remaining': '0',
        'ratelimit-reset': refused.headers['retry-after'],
        'ratelimit-policy': '3;w=3600',
      });
      expectRetryAtWindowEnd(refused.headers['retry-after'], 3_600, began);
      expect((await svc.call('post', `/projects/${project.id}/deployment`, { token: null })).status).toBe(429);
      expect(
        (await svc.call('post', '/deployment/webhook', { token: 'a-guessed-app-secret', body: { id: deployment.id, status: 'done' } }))
          .status,
      ).toBe(429);
      expect((await svc.call('get', '/metrics', { token: 'a-guessed-token-9012' })).status).toBe(429);
      expect(await rowCounts(svc.db)).toEqual(before);
      expect(svc.logs.some((l) => l.includes('authentication failures: budget spent'))).toBe(true);

      // The same address's good credentials (another CI job behind the runner's address, the admin
      // panel behind the office NAT) are not refused for the failures of others.
      expect((await svc.call('get', '/projects')).status).toBe(200);
      expect((await svc.call('get', '/metrics')).status).toBe(200);
      expect(
        (await svc.call('post', '/deployment/webhook', { token: project.secret, body: { id: deployment.id, status: 'done' } })).status,
      ).toBe(200);
      expect((await svc.call('get', '/healthz')).status).toBe(200);
    } finally {
      await svc.close();
    }
  });

  it("forgets an address's failures once its RATE_LIMIT_AUTH_WINDOW_S window has passed: the failure after the budget is a 401 again", async () => {
    const svc = await testService({ limits: { RATE_LIMIT_AUTH_FAILURES: 3, RATE_LIMIT_AUTH_WINDOW_S: 1 } });
    try {
      for (let i = 0; i < 3; i++) expect((await svc.call('get', '/projects', { token: 'a-guessed-token-1234' })).status).toBe(401);
      // The window began with the first failure, so after this wait it has ended on any machine;
      // within it, the fourth failure is a 429 (the test above).
      await sleep(1_100);
      expect((await svc.call('get', '/projects', { token: 'a-guessed-token-1234' })).status).toBe(401);
    } finally {
      await svc.close();
    }
  });

  it('counts concurrent wrong app secrets as they fail: of 100 at once from one address, exactly RATE_LIMIT_AUTH_FAILURES are 401s, the rest 429', async () => {
    // The cap on unverified work would refuse most of them first. And the 100 lookups queue for the
    // pool's connections for as long as this machine takes: no acquire or request timeout may answer
    // one of them before its failure is counted.
    const svc = await testService({
      limits: { RATE_LIMIT_AUTH_FAILURES: 10, UNVERIFIED_MAX_PER_ADDRESS: 1_000, UNVERIFIED_MAX_TOTAL: 1_000, REQUEST_TIMEOUT_MS: 600_000 },
      database: { acquireTimeoutMs: 600_000 },
    });
    try {
      const project = await svc.make.project();
      const deployment = await svc.make.deployment(project.id, 'building');
      const statuses = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          svc
            .call('post', '/deployment/webhook', { token: `a-wrong-app-secret-${i}`, body: { id: deployment.id, status: 'done' } })
            .then((r) => r.status),
        ),
      );
      expect({ 401: statuses.filter((s) => s === 401).length, 429: statuses.filter((s) => s === 429).length }).toEqual({
        401: 10,
        429: 90,
      });
      expect((await svc.db('deployments').where({ id: deployment.id }).first())?.status).toBe('building');
    } finally {
      await svc.close();
    }
  });

  it('answers 429 beyond RATE_LIMIT_PER_CREDENTIAL requests of one credential per window, each app secret counted on its own, writing nothing', async () => {
    // An hour's window, so that no request below can fall in a window of its own on a slow machine.
    const svc = await testService({ limits: { RATE_LIMIT_PER_CREDENTIAL: 3, RATE_LIMIT_PER_CREDENTIAL_WINDOW_S: 3_600 } });
    try {
      const [a, b] = [await svc.make.project(), await svc.make.project()];
      const [da, db] = [await svc.make.deployment(a.id, 'pending'), await svc.make.deployment(b.id, 'pending')];
      const began = Date.now();
      for (let i = 0; i < 3; i++) expect((await svc.call('get', `/projects/${a.id}`)).status).toBe(200);
      for (let i = 0; i < 3; i++)
        expect((await svc.call('post', '/deployment/webhook', { token: a.secret, body: { id: da.id, status: 'pending' } })).status).toBe(
          200,
        );
      const before = await rowCounts(svc.db);

      const refused = await svc.call('post', `/projects/${a.id}/deployment`);
      expect(refused.status).toBe(429);
      expect(refused.body.message).toMatch(/3 requests per 3600 s/);
      expect(refused.headers).toMatchObject({
        'ratelimit-limit': '3',
        'ratelimit-remaining': '0',
        'ratelimit-reset': refused.headers['retry-after'],
        'ratelimit-policy': '3;w=3600',
      });
      expectRetryAtWindowEnd(refused.headers['retry-after'], 3_600, began);
      const hook = await svc.call('post', '/deployment/webhook', { token: a.secret, body: { id: da.id, status: 'done' } });
      expect(hook.status).toBe(429);
      expect(await rowCounts(svc.db)).toEqual(before);
      expect((await svc.db('deployments').where({ id: da.id }).first())?.status).toBe('pending');
      // Another project's secret has its own budget; and none of this was a failed authentication.
      expect((await svc.call('post', '/deployment/webhook', { token: b.secret, body: { id: db.id, status: 'building' } })).status).toBe(
        200,
      );
    } finally {
      await svc.close();
    }
  });

  it('gives a credential a new budget once its RATE_LIMIT_PER_CREDENTIAL_WINDOW_S window has passed: the request after the budget is served', async () => {
    const svc = await testService({ limits: { RATE_LIMIT_PER_CREDENTIAL: 3, RATE_LIMIT_PER_CREDENTIAL_WINDOW_S: 1 } });
    try {
      const a = await svc.make.project();
      const da = await svc.make.deployment(a.id, 'pending');
      for (let i = 0; i < 3; i++) expect((await svc.call('get', `/projects/${a.id}`)).status).toBe(200);
      for (let i = 0; i < 3; i++)
        expect((await svc.call('post', '/deployment/webhook', { token: a.secret, body: { id: da.id, status: 'pending' } })).status).toBe(
          200,
        );
      // Each window began with its credential's first request, so after this wait both have ended on
      // any machine; within them, the fourth request is a 429 (the test above).
      await sleep(1_100);
      expect((await svc.call('post', '/deployment/webhook', { token: a.secret, body: { id: da.id, status: 'done' } })).status).toBe(200);
      expect((await svc.call('get', `/projects/${a.id}`)).status).toBe(200);
    } finally {
      await svc.close();
    }
  });

  it('with the defaults, lets a burst of one credential through (the limits are for abuse, not for busy clients)', async () => {
    const svc = await testService();
    try {
      // 300 requests, as many at once as the test database's pool has connections (10): all of them
      // count against the credential in one window, and none waits for a connection, so neither the
      // pool's acquire timeout nor the request timeout (a slow machine's, not the limits' business)
      // can answer one of them.
      const statuses: number[] = [];
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          for (let i = 0; i < 30; i++) statuses.push((await svc.call('get', '/projects')).status);
        }),
      );
      expect(statuses).toHaveLength(300);
      expect(new Set(statuses)).toEqual(new Set([200]));
    } finally {
      await svc.close();
    }
  });
});

/**
 * Issue 15: requests without a verified credential (`/readyz`, webhooks with any bearer string)
 * must not take the database pool from those with one. Everything here comes from 127.0.0.1, so the
 * good callers share the flood's address, like CI jobs behind a runner fleet's shared egress.
 */
describe('an anonymous flood beside good callers from the same address', () => {
  let svc: TestService;
  let server: LocalServer;
  let locker: pg.Client;
  let target: number;
  let ci: Array<{ secret: string; deployment: number }>;
  /** The status of a request of the flood (0 if it got no answer at all). */
  const status = (path: string, init?: RequestInit) =>
    fetch(`${server.url}${path}`, init).then(
      async (r) => (await r.arrayBuffer(), r.status),
      () => 0,
    );
  const wrongWebhook = (i: number) =>
    status('/deployment/webhook', {
      method: 'POST',
      headers: { authorization: `Bearer wrong-secret-${i}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: target, status: 'done' }),
    });
  const ciReport = (job: { secret: string; deployment: number }) =>
    fetchChecked(server.url, contract, 'post', '/deployment/webhook', {
      token: job.secret,
      body: { id: job.deployment, status: 'building' },
    }).then((r) => r.status);
  const admin = (path: string) => fetchChecked(server.url, contract, 'get', path, { token: svc.token }).then((r) => r.status);
  const tally = (statuses: number[]) => statuses.reduce<Record<number, number>>((t, s) => ({ ...t, [s]: (t[s] ?? 0) + 1 }), {});
  /** Sessions of the test's database waiting for a lock: the flood's lookups stuck behind the one held. */
  const waitingForLock = async () =>
    (
      await locker.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
      )
    ).rows[0]!.n;

  beforeAll(async () => {
    // The default pool (10) and caps (2 per address, 4 in all). No request timeout within the tests:
    // the lock below is held for as long as the probes take, which a busy machine stretches past any
    // bound, and the request timeout's 503 (tested on its own below) would then answer the stuck
    // lookups; here only the lock decides when they end.
    svc = await testService({ limits: { REQUEST_TIMEOUT_MS: 600_000 } });
    server = await listenLocally(svc.app.callback());
    target = (await svc.make.deployment((await svc.make.project()).id, 'building')).id;
    ci = [];
    for (let i = 0; i < 3; i++) {
      const project = await svc.make.project();
      ci.push({ secret: project.secret, deployment: (await svc.make.deployment(project.id, 'building')).id });
    }
    // The CI jobs have reported before (a webhook per step of every deployment): their secrets are known.
    for (const job of ci) expect(await ciReport(job)).toBe(200);
    locker = new pg.Client({ connectionString: svc.database.url });
    await locker.connect();
  });
  afterAll(async () => {
    await locker.end();
    await server.close();
    await svc.close();
  });

  it('while each lookup is slow (a lock holds deployments), the flood holds at most its share of the pool: readiness, the admin and the CI jobs are served', async () => {
    await locker.query('begin');
    await locker.query('lock table deployments in access exclusive mode');
    let flood: Array<Promise<number>> = [];
    let ciJobs: Array<Promise<number>> = [];
    let probes: number[];
    const adminAnswers: number[] = [];
    try {
      flood = Array.from({ length: 100 }, (_, i) => wrongWebhook(i));
      // Wait until the flood's lookups are stuck behind the lock, holding their connections, however
      // long they take to get there.
      while ((await waitingForLock()) === 0) await sleep(10);
      probes = await Promise.all(Array.from({ length: 300 }, () => status('/readyz')));
      for (let i = 0; i < 5; i++) adminAnswers.push(await admin('/outbox/status'));
      ciJobs = ci.map(ciReport); // their lookups wait for the lock too, on connections of their own
    } finally {
      await locker.query('rollback');
    }
    expect(tally(probes)).toEqual({ 200: 300 });
    expect(adminAnswers).toEqual([200, 200, 200, 200, 200]);
    expect(await Promise.all(ciJobs)).toEqual([200, 200, 200]);
    const floodAnswers = tally(await Promise.all(flood));
    expect(Object.keys(floodAnswers).sort()).toEqual(['401', '429']); // refused at once, or failed: never a 503
  });

  it('under a flood of /readyz and wrong-secret webhooks, every admin request and CI report succeeds and readiness never says "not ready"', async () => {
    const flood = Array.from({ length: 1_000 }, (_, i) => (i % 2 === 0 ? status('/readyz') : wrongWebhook(i)));
    const good: number[] = [];
    for (let i = 0; i < 10; i++) {
      good.push(await admin(`/deployments/${ci[i % 3]!.deployment}`));
      good.push(await ciReport(ci[i % 3]!));
    }
    const answers = await Promise.all(flood);
    expect(tally(good)).toEqual({ 200: 20 });
    expect(tally(answers.filter((_, i) => i % 2 === 0))).toEqual({ 200: 500 });
    const webhooks = tally(answers.filter((_, i) => i % 2 === 1));
    expect(Object.keys(webhooks).filter((s) => s !== '401' && s !== '429')).toEqual([]);
  });
});

describe('config of the cap on unverified work', () => {
  const env = {
    PROJECT_DATABASE_URL: 'postgres://x@localhost/db',
    PROJECT_SERVICE_TOKEN: 'a'.repeat(20),
    AGGREGATOR_SERVICE_TOKEN: 'b'.repeat(20),
  };
  it('defaults to 2 per address and 4 in all, and refuses a total that leaves the pool no room for verified work, naming the variable', () => {
    expect(loadConfig(env)).toMatchObject({ UNVERIFIED_MAX_PER_ADDRESS: 2, UNVERIFIED_MAX_TOTAL: 4, DB_POOL_MAX: 10 });
    expect(() => loadConfig({ ...env, DB_POOL_MAX: '4' })).toThrow(/UNVERIFIED_MAX_TOTAL: must be below DB_POOL_MAX \(4\)/);
    expect(loadConfig({ ...env, DB_POOL_MAX: '4', UNVERIFIED_MAX_TOTAL: '3' }).UNVERIFIED_MAX_TOTAL).toBe(3);
    expect(() => loadConfig({ ...env, UNVERIFIED_MAX_PER_ADDRESS: '0' })).toThrow(/UNVERIFIED_MAX_PER_ADDRESS/);
  });
});

describe('request timeout', () => {
  let database: TestDatabase;
  let locker: pg.Client;
  let call: Call;
  let logs: string[];
  let make: ReturnType<typeof factories>;
  const token = 'a-request-timeout-test-token';
  beforeAll(async () => {
    database = await createTestDatabase('project'); // no statement_timeout: only the request timeout bounds a wait
    const capture = logCapture();
    logs = capture.lines;
    const app = createApp({
      db: database.db,
      logger: capture.logger,
      config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app', REQUEST_TIMEOUT_MS: 300 },
    });
    call = httpClient(app.callback(), contract, token);
    make = factories(database.db);
    locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
  });
  afterAll(async () => {
    await locker.end();
    await database.drop();
  });

  it('answers 503 with Retry-After while a lock holds the table, and the late finish neither answers again nor crashes', async () => {
    const project = await make.project();
    const deployment = await make.deployment(project.id, 'building');
    await locker.query('begin');
    await locker.query('lock table deployments in access exclusive mode');
    let res;
    try {
      // Answered while the lock is still held (it is released below): a timeout ended the wait.
      res = await call('get', `/deployments/${deployment.id}`);
    } finally {
      await locker.query('rollback');
    }
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toMatchObject({
      name: 'ServiceUnavailableError',
      status: 503,
      message: 'The request took too long to complete; try again shortly',
      requestId: res.headers['x-request-id'],
    });
    const requestId = res.headers['x-request-id']!;
    // The query behind it finishes once the lock is gone; that is logged, and nothing else happens.
    for (let i = 0; i < 500 && !logs.some((l) => l.includes(requestId) && l.includes('finished after its 503')); i++) await sleep(20);
    expect(logs.filter((l) => l.includes(requestId)).map((l) => JSON.parse(l).msg)).toEqual([
      'request timed out; answered 503',
      'request',
      'timed-out request finished after its 503',
    ]);
    expect((await call('get', `/deployments/${deployment.id}`)).status).toBe(200);
  });

  it('a write stuck on a lock is cancelled by the statement timeout: 503 naming the database, nothing written', async () => {
    // Only the app's statements have the timeout: the test's own setup and checks would otherwise
    // be cancelled as well whenever a busy machine makes one of them take that long.
    const bounded = await createTestDatabase('project');
    const timed = createDb({ connectionString: bounded.url, statementTimeoutMs: 200, applicationName: 'jest', pool: { max: 10 } });
    const locked = new pg.Client({ connectionString: bounded.url });
    await locked.connect();
    try {
      const project = await factories(bounded.db).project();
      const app = createApp({
        db: timed,
        logger: logCapture().logger,
        // No request timeout within the test: with one, which of the two timers answers first would
        // depend on how fast this machine hands the cancelled statement's error back.
        config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app', REQUEST_TIMEOUT_MS: 600_000 },
      });
      const before = await rowCounts(bounded.db);
      await locked.query('begin');
      await locked.query('lock table deployments in access exclusive mode');
      let res;
      try {
        res = await httpClient(app.callback(), contract, token)('post', `/projects/${project.id}/deployment`);
      } finally {
        await locked.query('rollback');
      }
      expect(res.status).toBe(503);
      expect(res.body.message).toBe('The database took too long to answer; try again shortly');
      await sleep(300);
      expect(await rowCounts(bounded.db)).toEqual(before);
    } finally {
      await locked.end();
      await timed.destroy();
      await bounded.drop();
    }
  });
});

describe('streams and the request timeout', () => {
  let database: TestDatabase;
  let hub: DeploymentStreamHub;
  let running: RunningServer;
  const token = 'a-stream-timeout-test-token';
  const limits: Partial<LimitsConfig> = { REQUEST_TIMEOUT_MS: 200 };
  beforeAll(async () => {
    database = await createTestDatabase('project');
    const { logger } = logCapture();
    hub = testStreamHub(database, logger, { STREAM_HEARTBEAT_MS: 100, STREAM_MAX_CLIENTS: 10 });
    await hub.start();
    running = await listen(
      createApp({
        db: database.db,
        logger,
        config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app', ...limits },
        streamHub: hub,
      }),
      { port: 0, host: '127.0.0.1', logger, drainDelayMs: 0 },
    );
  });
  afterAll(async () => {
    await Promise.all([running.shutdown('test over'), hub.stop()]);
    await database.drop();
  });

  it('keeps an SSE stream open past the request timeout and delivers on it', async () => {
    const project = await factories(database.db).project();
    const client = openStream(`http://127.0.0.1:${running.port}/projects/${project.id}/deployments/stream`, {
      token,
      contract: ownContract(),
    });
    try {
      await client.opened;
      await sleep(500); // more than twice the request timeout
      const res = await fetch(`http://127.0.0.1:${running.port}/projects/${project.id}/deployments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(201);
      const [event] = await client.waitFor(1);
      expect(event!.data).toMatchObject({ projectId: project.id, status: 'pending' });
      expect(client.responses.map((r) => r.status)).toEqual([200]); // one connection: never cut, never reopened
      expect(client.problems).toEqual([]);
    } finally {
      client.close();
    }
  });
});
