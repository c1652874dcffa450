import Koa, { type Middleware } from 'koa';
import supertest from 'supertest';
import { UnauthorizedError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { problemMiddleware } from '../problem.js';
import {
  chain,
  clientAddressKey,
  createHttpLimits,
  failedAuthLimit,
  limitsEnv,
  memoryRateLimitStore,
  perCredentialLimit,
  secretKey,
  trustProxy,
  unverifiedCapProblem,
  unverifiedWorkLimit,
  type RateLimitStore,
} from './index.js';
import { requestContext, type RequestState } from '../request-context.js';
import { z } from 'zod';
import { createTestDatabase } from '../../testing/postgres.js';

const GOOD = 'good-token';

/** Admits `Bearer good-token` as the principal `service`, else 401, like the services' bearer check. */
const bearer: Middleware<RequestState> = async (ctx, next) => {
  if (ctx.get('Authorization') !== `Bearer ${GOOD}`) throw new UnauthorizedError();
  ctx.state.principal = { kind: 'service', key: ctx.get('X-Key') || 'service' };
  await next();
};

/** An app as the services build it: context, error body, the guard, then routes behind `auth`. */
function app(options: { guard?: Middleware<RequestState>; limit?: Middleware<RequestState>; proxy?: number } = {}) {
  const koa = new Koa<RequestState>();
  koa.silent = true;
  trustProxy(koa, options.proxy ?? 0);
  koa.use(requestContext(createLogger({ level: 'silent' })));
  koa.use(problemMiddleware());
  if (options.guard) koa.use(options.guard);
  const auth = options.limit ? chain(bearer, options.limit) : bearer;
  koa.use(async (ctx, next) => {
    if (ctx.path === '/open') {
      ctx.body = { ok: true };
      return;
    }
    await auth(ctx, async () => {
      ctx.body = { ok: true, principal: ctx.state.principal?.key };
      await next();
    });
  });
  return supertest(koa.callback());
}

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

describe('failedAuthLimit', () => {
  it('counts 401s per address and answers the failures beyond the budget 429 (headers included), while a good token still passes', async () => {
    // An hour's window: however slow the machine, every request below falls in the window of the
    // first failure (the window's end has a test of its own).
    const http = app({ guard: failedAuthLimit({ points: 3, windowSeconds: 3_600 }) });
    const began = Date.now();
    for (let i = 0; i < 3; i++) expect((await http.get('/').set('Authorization', 'Bearer guess')).status).toBe(401);
    const refused = await http.get('/').set('Authorization', 'Bearer guess');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      status: 429,
      name: 'TooManyRequestsError',
      type: 'urn:hosting:problem:too-many-requests',
      title: 'Too Many Requests',
    });
    expect(refused.body.message).toMatch(/failed authentication/);
    expectRetryAtWindowEnd(refused.headers['retry-after'], 3_600, began);
    expect(refused.headers['ratelimit-limit']).toBe('3');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['ratelimit-reset']).toBe(refused.headers['retry-after']);
    expect(refused.headers['ratelimit-policy']).toBe('3;w=3600');
    // A credential that verifies is never refused for the failures of others behind the same address.
    for (let i = 0; i < 3; i++) expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(200);
    expect((await http.get('/')).status).toBe(429); // no credential at all is a failure too
  });

  it("forgets an address's failures once the window has passed: the failure after the budget is a 401 again", async () => {
    const http = app({ guard: failedAuthLimit({ points: 3, windowSeconds: 1 }) });
    for (let i = 0; i < 3; i++) expect((await http.get('/').set('Authorization', 'Bearer guess')).status).toBe(401);
    // The window began with the first failure, so after this wait it has ended on any machine;
    // within it, the fourth failure is a 429 (the test above).
    await sleep(1_100);
    expect((await http.get('/').set('Authorization', 'Bearer guess')).status).toBe(401);
  });

  it('does not refund failures on success: interleaving a good credential does not reset the count', async () => {
    const http = app({ guard: failedAuthLimit({ points: 3, windowSeconds: 60 }) });
    for (let i = 0; i < 3; i++) {
      expect((await http.get('/').set('Authorization', 'Bearer guess')).status).toBe(401);
      expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(200);
    }
    expect((await http.get('/').set('Authorization', 'Bearer guess')).status).toBe(429);
  });

  it('counts concurrent failures that reach their 401 after I/O: exactly `points` 401s, the rest 429', async () => {
    // Like the webhook's lookup or a key set fetch: the 401 comes a while after the request started.
    const koa = new Koa<RequestState>();
    koa.silent = true;
    koa.use(requestContext(createLogger({ level: 'silent' })));
    koa.use(problemMiddleware());
    koa.use(failedAuthLimit({ points: 5, windowSeconds: 60 }));
    koa.use(async (ctx) => {
      await sleep(20);
      if (ctx.get('Authorization') !== `Bearer ${GOOD}`) throw new UnauthorizedError();
      ctx.body = { ok: true };
    });
    const http = supertest(koa.callback());
    const statuses = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        http
          .get('/')
          .set('Authorization', i % 10 === 9 ? `Bearer ${GOOD}` : 'Bearer guess')
          .then((r) => r.status),
      ),
    );
    const count = (s: number) => statuses.filter((x) => x === s).length;
    expect({ 401: count(401), 429: count(429), 200: count(200) }).toEqual({ 401: 5, 429: 49, 200: 6 });
  });

  it('leaves successes and other errors uncounted', async () => {
    const http = app({ guard: failedAuthLimit({ points: 2, windowSeconds: 60 }) });
    for (let i = 0; i < 10; i++) expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(200);
    expect((await http.get('/').set('Authorization', 'Bearer guess')).status).toBe(401);
    expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(200);
  });

  it('does not count a 401 its thrower marks as no guess (countsAsGuess = false: a correctly signed, expired JWT)', async () => {
    const koa = new Koa<RequestState>();
    koa.use(requestContext(createLogger({ level: 'silent' })));
    koa.use(problemMiddleware());
    koa.use(failedAuthLimit({ points: 1, windowSeconds: 60 }));
    koa.use(() => {
      throw Object.assign(new UnauthorizedError('The token has expired'), { countsAsGuess: false });
    });
    const http = supertest(koa.callback());
    for (let i = 0; i < 3; i++) expect((await http.get('/')).status).toBe(401);
  });

  it('counts a 401 set as a status without a throw', async () => {
    const koa = new Koa<RequestState>();
    koa.use(requestContext(createLogger({ level: 'silent' })));
    koa.use(problemMiddleware());
    koa.use(failedAuthLimit({ points: 1, windowSeconds: 60 }));
    koa.use((ctx) => {
      ctx.status = 401;
      ctx.body = { name: 'UnauthorizedError' };
    });
    const http = supertest(koa.callback());
    expect((await http.get('/')).status).toBe(401);
    expect((await http.get('/')).status).toBe(429);
  });

  it('believes X-Forwarded-For only with TRUST_PROXY, and then only the entries our proxies wrote', async () => {
    // Without a trusted proxy, a client cannot escape its block by inventing addresses.
    const direct = app({ guard: failedAuthLimit({ points: 2, windowSeconds: 60 }) });
    for (let i = 0; i < 2; i++) await direct.get('/').set('X-Forwarded-For', `10.0.0.${i}`).set('Authorization', 'Bearer guess');
    expect((await direct.get('/').set('X-Forwarded-For', '10.0.0.99').set('Authorization', 'Bearer guess')).status).toBe(429);

    // One trusted proxy: the last entry is the client address it saw; what the client wrote before it does not count.
    const proxied = app({ guard: failedAuthLimit({ points: 2, windowSeconds: 60 }), proxy: 1 });
    for (let i = 0; i < 2; i++)
      await proxied.get('/').set('X-Forwarded-For', `6.6.6.${i}, 203.0.113.7`).set('Authorization', 'Bearer guess');
    expect((await proxied.get('/').set('X-Forwarded-For', '1.1.1.1, 203.0.113.7').set('Authorization', 'Bearer guess')).status).toBe(429);
    expect((await proxied.get('/').set('X-Forwarded-For', '203.0.113.8').set('Authorization', 'Bearer guess')).status).toBe(401);
  });

  it('lets requests through when its store fails (and logs it)', async () => {
    const broken: RateLimitStore = {
      consume: () => Promise.reject(new Error('store down')),
      penalty: () => Promise.reject(new Error('store down')),
    };
    const http = app({
      guard: failedAuthLimit({ points: 1, windowSeconds: 60, store: broken }),
      limit: perCredentialLimit({ points: 1, windowSeconds: 60, store: broken }),
    });
    for (let i = 0; i < 3; i++) expect((await http.get('/').set('Authorization', 'Bearer guess')).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(200);
  });
});

describe('perCredentialLimit', () => {
  it('admits `points` requests of one credential per window, then 429 with the policy in the headers', async () => {
    // An hour's window, so that no request below can fall in a window of its own on a slow machine.
    const http = app({ limit: perCredentialLimit({ points: 3, windowSeconds: 3_600 }) });
    const began = Date.now();
    for (let i = 0; i < 3; i++) expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(200);
    const refused = await http.get('/').set('Authorization', `Bearer ${GOOD}`);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ status: 429, name: 'TooManyRequestsError' });
    expect(refused.body.message).toMatch(/3 requests per 3600 s/);
    expect(refused.headers).toMatchObject({
      'ratelimit-limit': '3',
      'ratelimit-remaining': '0',
      'ratelimit-reset': refused.headers['retry-after'],
      'ratelimit-policy': '3;w=3600',
    });
    expectRetryAtWindowEnd(refused.headers['retry-after'], 3_600, began);
    // Other credentials have their own budget.
    expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`).set('X-Key', 'other')).status).toBe(200);
  });

  it('gives a credential a new budget once its window has passed: the request after the budget is served', async () => {
    const http = app({ limit: perCredentialLimit({ points: 3, windowSeconds: 1 }) });
    for (let i = 0; i < 3; i++) expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(200);
    // The window began with the first request, so after this wait it has ended on any machine;
    // within it, the fourth request is a 429 (the test above).
    await sleep(1_100);
    expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(200);
  });

  it('does not count requests refused by authentication, and passes requests without a principal', async () => {
    const limit = perCredentialLimit({ points: 1, windowSeconds: 60 });
    const http = app({ limit });
    for (let i = 0; i < 3; i++) expect((await http.get('/').set('Authorization', 'Bearer guess')).status).toBe(401);
    expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(200);
    const koa = new Koa<RequestState>();
    koa.use(requestContext(createLogger({ level: 'silent' })));
    koa.use(limit);
    koa.use((ctx) => (ctx.body = 'ok'));
    for (let i = 0; i < 3; i++) expect((await supertest(koa.callback()).get('/')).status).toBe(200);
  });

  it('takes a key from the route when given one (the webhook: a digest of the presented secret)', async () => {
    const http = app({ limit: perCredentialLimit({ points: 1, windowSeconds: 60, keyOf: (ctx) => secretKey('x', ctx.get('X-Key')) }) });
    expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`).set('X-Key', 'a')).status).toBe(200);
    expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`).set('X-Key', 'a')).status).toBe(429);
    expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`).set('X-Key', 'b')).status).toBe(200);
  });

  it.each(['memory', 'postgres'] as const)(
    'shares its counts between the principal-keyed and the route-keyed middleware of one app (RATE_LIMIT_STORE=%s)',
    async (store) => {
      const database = await createTestDatabase('project');
      try {
        const limits = createHttpLimits(
          { ...z.object(limitsEnv).parse({}), RATE_LIMIT_PER_CREDENTIAL: 2, RATE_LIMIT_STORE: store },
          { db: database.db, logger: createLogger({ level: 'silent' }) },
        );
        const keyed = limits.perCredentialKeyedBy(() => 'service');
        const http = app({ limit: chain(limits.perCredential, keyed) });
        expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(200);
        expect((await http.get('/').set('Authorization', `Bearer ${GOOD}`)).status).toBe(429);
        const rows = await database.db('rate_limits.counts').select('key');
        expect(rows.map((r: { key: string }) => r.key)).toEqual(store === 'postgres' ? ['credential(2/10s):service'] : []);
      } finally {
        await database.drop();
      }
    },
  );
});

describe('unverifiedWorkLimit', () => {
  /**
   * A route like the webhook: the credential (X-Secret) is checked by work that takes a while (a
   * database lookup), only `good` passes; `release` lets the work held so far finish.
   */
  function route(policy: { perAddress: number; total: number; maxWaitMs: number }, good = 'good') {
    let releases: Array<() => void> = [];
    const release = () => {
      for (const r of releases.splice(0)) r();
    };
    let working = 0;
    const koa = new Koa<RequestState>();
    koa.silent = true;
    trustProxy(koa, 1);
    koa.use(requestContext(createLogger({ level: 'silent' })));
    koa.use(problemMiddleware());
    koa.use(unverifiedWorkLimit(policy)((ctx) => secretKey('s', ctx.get('X-Secret'))));
    koa.use(async (ctx) => {
      working++;
      await new Promise<void>((r) => releases.push(r));
      working--;
      if (ctx.get('X-Secret') !== good) throw new UnauthorizedError();
      ctx.body = { ok: true };
    });
    const http = supertest(koa.callback());
    const send = (secret: string, from = '203.0.113.1') =>
      http
        .get('/')
        .set('X-Secret', secret)
        .set('X-Forwarded-For', from)
        .then((r) => r);
    return { send, release, working: () => working, reset: () => (releases = []) };
  }
  const until = async (ok: () => boolean) => {
    for (let i = 0; i < 200 && !ok(); i++) await sleep(5);
  };

  it('admits `perAddress` unverified requests of one address at once, refuses the next 429 after its wait without doing its work, and `total` across addresses (then 503)', async () => {
    const r = route({ perAddress: 2, total: 3, maxWaitMs: 50 });
    const held = [r.send('guess-1'), r.send('guess-2')];
    await until(() => r.working() === 2);
    const refused = await r.send('guess-3');
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ name: 'TooManyRequestsError', status: 429 });
    expect(refused.body.message).toMatch(/at most 2 at once/);
    expect(refused.headers).toMatchObject({
      'retry-after': '1',
      'ratelimit-limit': '2',
      'ratelimit-remaining': '0',
      'ratelimit-reset': '1',
      'ratelimit-policy': '2;w=1',
    });
    expect(r.working()).toBe(2);
    held.push(r.send('guess-4', '203.0.113.2'));
    await until(() => r.working() === 3);
    const full = await r.send('guess-5', '203.0.113.3');
    expect(full.status).toBe(503);
    expect(full.headers['retry-after']).toBe('1');
    expect(r.working()).toBe(3);
    r.release();
    expect((await Promise.all(held)).map((x) => x.status)).toEqual([401, 401, 401]);
    // The slots came back.
    const again = [r.send('guess-6'), r.send('guess-7')];
    await until(() => r.working() === 2);
    r.release();
    expect((await Promise.all(again)).map((x) => x.status)).toEqual([401, 401]);
  });

  it('serves a burst of first reports beyond the cap in turn (a CI fleet behind one address): all answered, never more than `perAddress` at work', async () => {
    let working = 0;
    let most = 0;
    const koa = new Koa<RequestState>();
    koa.silent = true;
    koa.use(requestContext(createLogger({ level: 'silent' })));
    koa.use(problemMiddleware());
    koa.use(unverifiedWorkLimit({ perAddress: 2, total: 4, maxWaitMs: 2_000 })((ctx) => ctx.get('X-Secret')));
    koa.use(async (ctx) => {
      most = Math.max(most, ++working);
      await sleep(10);
      working--;
      ctx.body = { ok: true };
    });
    const http = supertest(koa.callback());
    const statuses = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        http
          .get('/')
          .set('X-Secret', `project-${i}`)
          .then((x) => x.status),
      ),
    );
    expect(statuses).toEqual(Array(12).fill(200));
    expect(most).toBe(2);
  });

  it('refuses at once beyond 64 requests of one address waiting for a slot', async () => {
    const r = route({ perAddress: 1, total: 1, maxWaitMs: 10_000 });
    const answered: number[] = [];
    const queued = Array.from({ length: 65 }, (_, i) => r.send(`guess-${i}`).then((x) => (answered.push(x.status), x.status)));
    await until(() => r.working() === 1);
    await sleep(50);
    expect(answered).toEqual([]); // one at work, 64 waiting
    expect((await r.send('one-too-many')).status).toBe(429);
    for (let i = 0; i < 200 && answered.length < 65; i++) {
      r.release();
      await sleep(5);
    }
    expect(await Promise.all(queued)).toEqual(Array(65).fill(401));
  });

  it('lets a credential that got a 2xx skip the cap (it is still checked), and forgets it at its first 401', async () => {
    const r = route({ perAddress: 1, total: 1, maxWaitMs: 50 });
    const first = r.send('good');
    await until(() => r.working() === 1);
    r.release();
    expect((await first).status).toBe(200);
    // A flood from the same address holds the one slot; the known credential still gets through.
    const flood = r.send('guess');
    await until(() => r.working() === 1);
    expect((await r.send('guess-2')).status).toBe(429);
    const known = r.send('good');
    await until(() => r.working() === 2);
    r.release();
    expect([(await flood).status, (await known).status]).toEqual([401, 200]);
  });

  it("lets concurrent requests with one credential wait for the first one's answer instead of taking slots: a good one passes them all, a wrong one sends them to the cap", async () => {
    // A wait far longer than the test, so that a slow machine cannot turn a wait into a refusal.
    const r = route({ perAddress: 1, total: 1, maxWaitMs: 10_000 });
    const parallel = [r.send('good'), r.send('good'), r.send('good'), r.send('good')];
    await until(() => r.working() === 1);
    await sleep(20);
    expect(r.working()).toBe(1); // the others wait, holding nothing
    r.release();
    await until(() => r.working() === 3);
    r.release();
    expect((await Promise.all(parallel)).map((x) => x.status)).toEqual([200, 200, 200, 200]);

    // A wrong one lets the others on to the cap: each is then checked (401) or refused (429), one at a time.
    let answered = 0;
    const wrong = [r.send('same-guess'), r.send('same-guess'), r.send('same-guess')].map((p) => p.then((x) => (answered++, x.status)));
    for (let i = 0; i < 400 && answered < 3; i++) {
      expect(r.working()).toBeLessThanOrEqual(1);
      r.release();
      await sleep(5);
    }
    const statuses = await Promise.all(wrong);
    expect(statuses.filter((x) => x === 401).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((x) => x === 401 || x === 429)).toBe(true);
  });

  it('reads the known credential from its key: a 401 for it (a rotated secret) puts it back under the cap', async () => {
    let good = 'old';
    const koa = new Koa<RequestState>();
    koa.silent = true;
    koa.use(requestContext(createLogger({ level: 'silent' })));
    koa.use(problemMiddleware());
    let gate: () => Promise<void> = () => Promise.resolve();
    koa.use(unverifiedWorkLimit({ perAddress: 1, total: 1, maxWaitMs: 50 })((ctx) => ctx.get('X-Secret')));
    koa.use(async (ctx) => {
      await gate();
      if (ctx.get('X-Secret') !== good) throw new UnauthorizedError();
      ctx.body = { ok: true };
    });
    const http = supertest(koa.callback());
    expect((await http.get('/').set('X-Secret', 'old')).status).toBe(200);
    good = 'new';
    expect((await http.get('/').set('X-Secret', 'old')).status).toBe(401);
    let open!: () => void;
    gate = () => new Promise<void>((r) => (open = r));
    const holder = http
      .get('/')
      .set('X-Secret', 'guess')
      .then((x) => x.status);
    await until(() => open !== undefined);
    expect((await http.get('/').set('X-Secret', 'old')).status).toBe(429);
    open();
    expect(await holder).toBe(401);
  });

  it('UNVERIFIED_MAX_TOTAL must stay below DB_POOL_MAX', () => {
    expect(unverifiedCapProblem({ UNVERIFIED_MAX_TOTAL: 4, DB_POOL_MAX: 10 })).toBeUndefined();
    expect(unverifiedCapProblem({ UNVERIFIED_MAX_TOTAL: 4, DB_POOL_MAX: 4 })).toMatch(
      /^UNVERIFIED_MAX_TOTAL: must be below DB_POOL_MAX \(4\)/,
    );
  });
});

describe('clientAddressKey', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['', 'unknown'],
  ])('%p → %p', (ip, key) => expect(clientAddressKey(ip)).toBe(key));
});

describe('secretKey', () => {
  it('is stable, distinct per secret, and does not contain the secret', () => {
    expect(secretKey('s', 'abc')).toBe(secretKey('s', 'abc'));
    expect(secretKey('s', 'abc')).not.toBe(secretKey('s', 'abd'));
    expect(secretKey('s', 'a-long-app-secret')).not.toContain('a-long-app-secret');
  });
});

describe('limitsEnv', () => {
  const schema = z.object(limitsEnv);
  it('has the documented defaults', () => {
    expect(schema.parse({})).toEqual({
      RATE_LIMIT_STORE: 'postgres',
      RATE_LIMIT_AUTH_FAILURES: 20,
      RATE_LIMIT_AUTH_WINDOW_S: 60,
      RATE_LIMIT_PER_CREDENTIAL: 300_000,
      RATE_LIMIT_PER_CREDENTIAL_WINDOW_S: 10,
      REQUEST_TIMEOUT_MS: 4_000,
      TRUST_PROXY: 0,
      UNVERIFIED_MAX_PER_ADDRESS: 2,
      UNVERIFIED_MAX_TOTAL: 4,
    });
  });
  it.each([
    ['false', 0],
    ['true', 1],
    ['0', 0],
    ['2', 2],
  ])('reads TRUST_PROXY=%p as %p hops', (value, hops) => {
    expect(schema.parse({ TRUST_PROXY: value }).TRUST_PROXY).toBe(hops);
  });
  it.each([{ TRUST_PROXY: 'yes' }, { RATE_LIMIT_AUTH_FAILURES: '0' }, { REQUEST_TIMEOUT_MS: 'soon' }])('refuses %p', (env) => {
    expect(schema.safeParse(env).success).toBe(false);
  });
});

describe('memoryRateLimitStore', () => {
  it('counts per key in a fixed window', async () => {
    const store = memoryRateLimitStore({ points: 2, windowSeconds: 60 }, 't');
    await store.consume('a');
    await store.consume('a');
    await expect(store.consume('a')).rejects.toMatchObject({ remainingPoints: 0 });
    await expect(store.consume('b')).resolves.toMatchObject({ remainingPoints: 1 });
  });
});
