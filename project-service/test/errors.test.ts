import { randomBytes } from 'node:crypto';
import { jest } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase, withAdmin, type TestDatabase } from '@hosting/shared/testing';
import { createApp, factories, httpClient, logCapture, projectContract, testService, type Call, type TestService } from './helpers.js';

let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A second app, on a database of its own, for tests that break that database. */
async function isolatedApp(
  options: { statementTimeoutMs?: number; poolMax?: number; acquireTimeoutMs?: number } = {},
): Promise<{ database: TestDatabase; call: Call; logs: string[] }> {
  const database = await createTestDatabase('project', options);
  const token = randomBytes(24).toString('base64url');
  const { logger, lines } = logCapture();
  const app = createApp({ db: database.db, logger, config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app' } });
  return { database, call: httpClient(app.callback(), projectContract(), token), logs: lines };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the error body', () => {
  it('answers an unknown route with a 404 in the error shape', async () => {
    const res = await svc.call('get', '/nowhere/to/be/found');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      type: 'urn:hosting:problem:not-found',
      title: 'Not Found',
      status: 404,
      detail: 'No route for GET /nowhere/to/be/found',
      name: 'NotFoundError',
      message: 'No route for GET /nowhere/to/be/found',
      requestId: res.headers['x-request-id'],
    });
  });

  it('answers an unknown route the same without a token', async () => {
    const res = await svc.call('post', '/nowhere', { token: null });
    expect(res.status).toBe(404);
    expect(res.body.name).toBe('NotFoundError');
  });

  it('answers a wrong method with a 405 and Allow', async () => {
    const res = await svc.call('delete', '/projects/1');
    expect(res.status).toBe(405);
    expect(res.headers.allow!.split(/,\s*/)).toContain('GET');
    expect(res.headers.allow).not.toContain('DELETE');
    expect(res.body).toMatchObject({
      type: 'urn:hosting:problem:method-not-allowed',
      title: 'Method Not Allowed',
      status: 405,
      name: 'MethodNotAllowedError',
      requestId: res.headers['x-request-id'],
    });
    expect(res.body.message).toBe(res.body.detail);
    expect(res.body.message).toContain('DELETE');
  });

  it('names POST as the one method of the webhook', async () => {
    const res = await svc.call('get', '/deployment/webhook');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body.name).toBe('MethodNotAllowedError');
  });

  it('answers in application/problem+json to a client that asks for it', async () => {
    const res = await svc.call('get', '/projects/2147483647', { headers: { Accept: 'application/problem+json' } });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.text)).toMatchObject({ name: 'NotFoundError', status: 404, type: 'urn:hosting:problem:not-found' });
  });

  it('answers in application/json otherwise', async () => {
    for (const accept of [undefined, 'application/json', '*/*', 'text/html']) {
      const res = await svc.call('get', '/projects/2147483647', { headers: accept ? { Accept: accept } : {} });
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    }
  });

  it.each([
    ['a 400', 'get', '/projects/abc', 400, 'ValidationError'],
    ['a 401', 'get', '/projects', 401, 'UnauthorizedError'],
    ['a 404', 'get', '/deployments/2147483647', 404, 'NotFoundError'],
    ['a 405', 'put', '/deployments', 405, 'MethodNotAllowedError'],
  ] as const)('gives %s the request id it echoes in X-Request-Id', async (_label, method, url, status, name) => {
    const res = await svc.call(method, url, status === 401 ? { token: null } : {});
    expect(res.status).toBe(status);
    expect(res.body.name).toBe(name);
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
    expect(res.body).toMatchObject({ status, detail: res.body.message, type: expect.stringMatching(/^urn:hosting:problem:/) });
  });
});

describe('X-Request-Id', () => {
  it('echoes a well-formed incoming id, on success and in errors', async () => {
    const ok = await svc.call('get', '/projects', { headers: { 'X-Request-Id': 'lb-7f3a.2:retry_1' } });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-request-id']).toBe('lb-7f3a.2:retry_1');
    const failed = await svc.call('get', '/projects/2147483647', { headers: { 'X-Request-Id': 'abc-123' } });
    expect(failed.headers['x-request-id']).toBe('abc-123');
    expect(failed.body.requestId).toBe('abc-123');
  });

  it('keeps an id of exactly 128 characters', async () => {
    const id = 'a'.repeat(128);
    const res = await svc.call('get', '/projects', { headers: { 'X-Request-Id': id } });
    expect(res.headers['x-request-id']).toBe(id);
  });

  it.each([
    ['300 characters', 'a'.repeat(300)],
    ['129 characters', 'a'.repeat(129)],
    ['spaces', 'two words'],
    ['a slash', 'a/b'],
    ['markup', '<script>'],
  ])('replaces an id with %s by a generated uuid', async (_label, id) => {
    const res = await svc.call('get', '/projects/2147483647', { headers: { 'X-Request-Id': id } });
    expect(res.status).toBe(404);
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  });

  it('gives each request its own id', async () => {
    const a = await svc.call('get', '/projects');
    const b = await svc.call('get', '/projects');
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });
});

describe('when the database goes away', () => {
  let isolated: Awaited<ReturnType<typeof isolatedApp>>;
  // knex reports pool errors on console.log by itself (see the report); keep the test output readable.
  let quiet: { mockRestore(): void };
  beforeAll(async () => {
    isolated = await isolatedApp();
    quiet = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterAll(async () => {
    quiet.mockRestore();
    await withAdmin((c) => c.query(`alter database ${isolated.database.name} allow_connections true`));
    await isolated.database.drop();
  });

  it('answers 500 InternalServerError without internals, logs it, and recovers when the database is back', async () => {
    const { database, call, logs } = isolated;
    expect((await call('get', '/projects')).status).toBe(200); // the pool holds a live connection

    await withAdmin(async (admin) => {
      await admin.query(`alter database ${database.name} allow_connections false`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [
        database.name,
      ]);
      for (let i = 0; i < 500; i++) {
        const { rows } = await admin.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [
          database.name,
        ]);
        if (rows[0]!.n === 0) return;
        await sleep(20);
      }
      throw new Error(`the connections to ${database.name} did not end`);
    });

    for (let attempt = 0; attempt < 2; attempt++) {
      // The first call may meet the dead pooled connection, the second a refused new one: both are 500s.
      const res = await call('get', '/projects');
      expect(res.status).toBe(500);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        type: 'urn:hosting:problem:internal-server',
        title: 'Internal Server Error',
        status: 500,
        detail: res.body.message,
        name: 'InternalServerError',
        message: 'The service could not complete the request; it has been logged, try again later',
        requestId: res.headers['x-request-id'],
      });
      for (const internal of ['select', 'ECONN', 'terminat', 'at ', 'stack', 'allow', 'postgres', database.name]) {
        expect(res.text.toLowerCase()).not.toContain(internal.toLowerCase());
      }
      // The details went to the log instead: one error line with the stack, carrying the request id.
      const errors = logs.map((l) => JSON.parse(l)).filter((l) => l.requestId === res.headers['x-request-id'] && l.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0].err.stack).toEqual(expect.any(String));
    }

    await withAdmin((admin) => admin.query(`alter database ${database.name} allow_connections true`));
    let recovered: number | undefined;
    for (let attempt = 0; attempt < 5 && recovered !== 200; attempt++) {
      recovered = (await call('get', '/projects')).status;
      if (recovered !== 200) await sleep(100);
    }
    expect(recovered).toBe(200);
    const again = await call('get', '/projects');
    expect(again.status).toBe(200);
    expect(again.body).toEqual([]);
  });
});

describe('when the database is too slow', () => {
  let isolated: Awaited<ReturnType<typeof isolatedApp>>;
  let locker: pg.Client;
  beforeAll(async () => {
    isolated = await isolatedApp({ statementTimeoutMs: 200 });
    locker = new pg.Client({ connectionString: isolated.database.url });
    await locker.connect();
  });
  afterAll(async () => {
    await locker.end();
    await isolated.database.drop();
  });

  it('answers 503 with Retry-After while a lock holds the table, and 200 once it is released', async () => {
    const { call } = isolated;
    await locker.query('begin');
    await locker.query('lock table projects in access exclusive mode');
    try {
      // Answered while the lock is still held (it is released below): the statement timeout ended the wait.
      const res = await call('get', '/projects');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body).toMatchObject({
        name: 'ServiceUnavailableError',
        status: 503,
        message: 'The database took too long to answer; try again shortly',
        requestId: res.headers['x-request-id'],
      });
      expect(res.text).not.toMatch(/statement timeout|canceling|projects/i);
    } finally {
      await locker.query('rollback');
    }
    const after = await call('get', '/projects');
    expect(after.status).toBe(200);
  });
});

describe('when every database connection is busy', () => {
  it('answers 503 with Retry-After once the pool wait runs out, writes nothing, and serves again when a connection is free', async () => {
    const isolated = await isolatedApp({ poolMax: 1, acquireTimeoutMs: 300 });
    const { database, call } = isolated;
    try {
      const { id: projectId } = await factories(database.db).project();
      const before = await database.db('deployments').count<{ count: number }[]>('* as count').first();
      // The pool's one connection, held by a transaction that does nothing.
      let release!: () => void;
      const held = database.db.transaction(async (trx) => {
        await trx.raw('select 1');
        await new Promise<void>((resolve) => (release = resolve));
      });
      await sleep(50);
      const refused = await call('post', `/projects/${projectId}/deployment`);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body).toMatchObject({
        name: 'ServiceUnavailableError',
        message: 'Every database connection is busy; try again shortly',
      });
      release();
      await held;
      const after = await database.db('deployments').count<{ count: number }[]>('* as count').first();
      expect(after!.count).toBe(before!.count);
      expect((await call('post', `/projects/${projectId}/deployment`)).status).toBe(201);
    } finally {
      await database.drop();
    }
  });
});
