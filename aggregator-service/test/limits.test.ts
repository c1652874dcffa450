import pg from 'pg';
import { createLogger } from '@hosting/shared';
import { listenLocally, rawExchange, type LocalServer } from '@hosting/shared/testing';
import { createApp, aggregatorContract, deploymentCreated, httpClient, testService, type TestService } from './helpers.js';

/**
 * The limits of aggregator-service (issue 6): the batch body cap against a lying Content-Length
 * and a chunked body, the `limit` cap, the failed-authentication guard and the per-credential
 * rate limit (429 + headers), and the request timeout with a real lock, including an export whose
 * start outlives it (its late stream is destroyed, so its connection and export slot come back).
 * (The 1 MB / 500 events / 32 kB caps themselves: events.test.ts.)
 */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A 429's Retry-After points at the end of a window of `windowSeconds` that began no earlier than
 * `since` (a Date.now()): whole seconds, at most the window, at least what is left of it now.
 */
function expectRetryAtWindowEnd(retryAfter: string | undefined, windowSeconds: number, since: number): void {
  expect(retryAfter).toMatch(/^[0-9]+$/);
  expect(Number(retryAfter)).toBeLessThanOrEqual(windowSeconds);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(windowSeconds - (Date.now() - since) / 1000);
}
const count = async (svc: { db: TestService['db'] }) => Number((await svc.db('events').count({ n: '*' }))[0]!.n);

describe('POST /events body cap over raw HTTP', () => {
  let svc: TestService;
  let server: LocalServer;
  beforeAll(async () => {
    svc = await testService();
    server = await listenLocally(svc.app.callback());
  });
  afterAll(async () => {
    await server.close();
    await svc.close();
  });
  const head = (framing: string) =>
    `POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${svc.token}\r\nContent-Type: application/json\r\n${framing}\r\nConnection: close\r\n\r\n`;

  it('answers 413 at once to a Content-Length over 1 MB, without waiting for the body', async () => {
    const before = await count(svc);
    const res = await rawExchange(server.port, head('Content-Length: 1073741824'), [JSON.stringify([deploymentCreated()])]);
    expect(res.status).toBe(413);
    aggregatorContract().check('post', '/events', res.status, res.body, res.headers['content-type'], res.headers);
    expect(await count(svc)).toBe(before);
  });

  it('answers 413 to a chunked body once it passes 1 MB, before it ends, and stores none of it', async () => {
    const before = await count(svc);
    const event = JSON.stringify(deploymentCreated());
    const piece = `${event},`.repeat(Math.ceil((64 * 1024) / (event.length + 1)));
    const chunks = [`1\r\n[\r\n`, ...Array.from({ length: 20 }, () => `${piece.length.toString(16)}\r\n${piece}\r\n`)]; // ~1.3 MB, never the last chunk
    const res = await rawExchange(server.port, head('Transfer-Encoding: chunked'), chunks);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ name: 'PayloadTooLargeError', status: 413 });
    aggregatorContract().check('post', '/events', res.status, res.body, res.headers['content-type'], res.headers);
    expect(await count(svc)).toBe(before);
  });

  it('caps ?limit at 500 with a 400 naming the parameter', async () => {
    const res = await svc.call('get', '/events?limit=501');
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([expect.objectContaining({ path: 'query.limit' })]);
    expect((await svc.call('get', '/events?limit=500')).status).toBe(200);
  });
});

describe('rate limits', () => {
  it('after RATE_LIMIT_AUTH_FAILURES 401s from an address, answers its further failures 429, while the right token still passes', async () => {
    // An hour's window: however slow the machine, every request below falls in the window of the
    // first failure (the window's end has a test of its own).
    const svc = await testService({ limits: { RATE_LIMIT_AUTH_FAILURES: 2, RATE_LIMIT_AUTH_WINDOW_S: 3_600 } });
    try {
      const began = Date.now();
      expect((await svc.call('get', '/events', { token: 'a-guessed-token-123456' })).status).toBe(401);
      expect((await svc.call('post', '/events', { token: 'another-guess-12345678', body: [deploymentCreated()] })).status).toBe(401);
      const refused = await svc.call('post', '/events', { token: 'a-third-guess-12345678', body: [deploymentCreated()] });
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ name: 'TooManyRequestsError', status: 429 });
      expect(refused.headers).toMatchObject({
        'ratelimit-limit': '2',
        'ratelimit-remaining': '0',
        'ratelimit-reset': refused.headers['retry-after'],
        'ratelimit-policy': '2;w=3600',
      });
      expectRetryAtWindowEnd(refused.headers['retry-after'], 3_600, began);
      expect((await svc.call('get', '/events', { token: null })).status).toBe(429);
      expect(await count(svc)).toBe(0);
      // The relay's right token is not refused for others' failures behind the same address.
      expect((await svc.call('post', '/events', { body: [deploymentCreated()] })).status).toBe(200);
      expect(await count(svc)).toBe(1);
    } finally {
      await svc.close();
    }
  });

  it("forgets an address's failures once its RATE_LIMIT_AUTH_WINDOW_S window has passed: the failure after the budget is a 401 again", async () => {
    const svc = await testService({ limits: { RATE_LIMIT_AUTH_FAILURES: 2, RATE_LIMIT_AUTH_WINDOW_S: 1 } });
    try {
      expect((await svc.call('get', '/events', { token: 'a-guessed-token-123456' })).status).toBe(401);
      expect((await svc.call('get', '/events', { token: 'another-guess-12345678' })).status).toBe(401);
      // The window began with the first failure, so after this wait it has ended on any machine;
      // within it, the third failure is a 429 (the test above).
      await sleep(1_100);
      expect((await svc.call('get', '/events', { token: 'a-guessed-token-123456' })).status).toBe(401);
    } finally {
      await svc.close();
    }
  });

  it('answers 429 beyond RATE_LIMIT_PER_CREDENTIAL requests per window, storing nothing', async () => {
    // An hour's window, so that no request below can fall in a window of its own on a slow machine.
    const svc = await testService({ limits: { RATE_LIMIT_PER_CREDENTIAL: 2, RATE_LIMIT_PER_CREDENTIAL_WINDOW_S: 3_600 } });
    try {
      const began = Date.now();
      expect((await svc.call('get', '/events')).status).toBe(200);
      expect((await svc.call('post', '/events', { body: [deploymentCreated()] })).status).toBe(200);
      const refused = await svc.call('post', '/events', { body: [deploymentCreated()] });
      expect(refused.status).toBe(429);
      expect(refused.body.message).toMatch(/2 requests per 3600 s/);
      expect(refused.headers).toMatchObject({
        'ratelimit-limit': '2',
        'ratelimit-remaining': '0',
        'ratelimit-reset': refused.headers['retry-after'],
        'ratelimit-policy': '2;w=3600',
      });
      expectRetryAtWindowEnd(refused.headers['retry-after'], 3_600, began);
      expect(await count(svc)).toBe(1);
    } finally {
      await svc.close();
    }
  });

  it('gives a credential a new budget once its RATE_LIMIT_PER_CREDENTIAL_WINDOW_S window has passed: the request after the budget is served', async () => {
    const svc = await testService({ limits: { RATE_LIMIT_PER_CREDENTIAL: 2, RATE_LIMIT_PER_CREDENTIAL_WINDOW_S: 1 } });
    try {
      expect((await svc.call('get', '/events')).status).toBe(200);
      expect((await svc.call('post', '/events', { body: [deploymentCreated()] })).status).toBe(200);
      // The window began with the first request, so after this wait it has ended on any machine;
      // within it, the third request is a 429 (the test above).
      await sleep(1_100);
      expect((await svc.call('post', '/events', { body: [deploymentCreated()] })).status).toBe(200);
      expect(await count(svc)).toBe(2);
    } finally {
      await svc.close();
    }
  });
});

describe('request timeout', () => {
  let svc: TestService;
  let locker: pg.Client;
  let call: ReturnType<typeof httpClient>;
  beforeAll(async () => {
    svc = await testService(); // its database has no statement_timeout: only the request timeout bounds a wait
    const app = createApp({
      db: svc.db,
      logger: createLogger({ level: 'silent' }),
      config: { AGGREGATOR_SERVICE_TOKEN: svc.token, REQUEST_TIMEOUT_MS: 150 },
    });
    call = httpClient(app.callback(), svc.token);
    locker = new pg.Client({ connectionString: svc.database.url });
    await locker.connect();
  });
  afterAll(async () => {
    await locker.end();
    await svc.close();
  });

  it('answers 503 with Retry-After while a lock holds the table, and serves again once it is gone', async () => {
    await locker.query('begin');
    await locker.query('lock table events in access exclusive mode');
    let res;
    try {
      res = await call('get', '/events');
    } finally {
      await locker.query('rollback');
    }
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body).toMatchObject({
      name: 'ServiceUnavailableError',
      message: 'The request took too long to complete; try again shortly',
    });
    expect((await call('get', '/events')).status).toBe(200);
  });

  it('an export that starts too late is answered 503 and its late stream is closed: its connection and export slot come back', async () => {
    await call('post', '/events', { body: [deploymentCreated(), deploymentCreated()] });
    // Three exports (one more than may run at once) time out while they wait for the lock.
    await locker.query('begin');
    await locker.query('lock table events in access exclusive mode');
    let answers;
    try {
      answers = await Promise.all([1, 2, 3].map(() => call('get', '/events/export')));
    } finally {
      await locker.query('rollback');
    }
    expect(answers.map((r) => r.status)).toEqual([503, 503, 503]);
    await sleep(200); // the exports start once the lock is gone, and find their answer sent
    const res = await call('get', '/events/export?format=ndjson');
    expect(res.status).toBe(200);
    expect(res.text.trim().split('\n')).toHaveLength(2);
    const { rows } = await locker.query(
      `select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`,
    );
    expect(rows[0].n).toBe(0);
  });
});
