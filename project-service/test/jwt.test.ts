import { createHmac, createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import { listen, type Knex, type RunningServer } from '@hosting/shared';
import {
  base64urlJson,
  countQueries,
  createTestDatabase,
  startTestIdentityProvider,
  type TestDatabase,
  type TestIdentityProvider,
} from '@hosting/shared/testing';
import { loadConfig } from '../src/config.js';
import type { DeploymentStreamHub } from '../src/features/stream/stream-hub.js';
import {
  createApp,
  type AppDeps,
  factories,
  fetchChecked,
  logCapture,
  projectContract,
  streamClients,
  type Sent,
  testStreamHub,
} from './helpers.js';
import { rawStream, type StreamClient } from './sse-client.js';

/**
 * JWT mode over real HTTP: a local identity provider (a JWKS server with generated keys) signs the
 * tokens; the app verifies them against it. What each kind of token gets: the service token and an
 * admin token everything, a user's token their own projects, deployments, statistics, activity and
 * streams, and for anyone else's the very 404 of a missing one; a bad token the 401 of no token.
 */

const serviceToken = randomBytes(24).toString('base64url');
const contract = projectContract();

let idp: TestIdentityProvider;
let database: TestDatabase;
let db: Knex;
let hub: DeploymentStreamHub;
let running: RunningServer;
let base: string;
let make: ReturnType<typeof factories>;
const logs = logCapture();
const clients = streamClients();

/** A request over HTTP to `at` (default: the JWT-mode app), checked against both documents. */
function call(method: 'get' | 'post', path: string, token: string | null, options: { body?: unknown; at?: string } = {}): Promise<Sent> {
  return fetchChecked(options.at ?? base, contract, method, path, { token, body: options.body });
}

/** An answer without what differs between any two requests (its id, its date): to compare answers byte for byte. */
function comparable(res: Sent) {
  const { 'x-request-id': _id, date: _date, ...headers } = res.headers;
  return { status: res.status, headers, text: res.text.replace(/"requestId":"[^"]+"/, '"requestId":"…"') };
}

const now = () => Math.floor(Date.now() / 1000);

let alice: { id: number; email: string };
let bob: { id: number; email: string };
let carol: { id: number; email: string };
let aliceProjects: Array<{ id: number; secret: string }>;
let bobProject: { id: number; secret: string };
let tokens: { admin: string; alice: string; bob: string; carol: string };

async function user(authSubject?: string): Promise<{ id: number; email: string }> {
  const u = randomBytes(4).toString('hex');
  const email = `Person.${u}@Example.com`;
  const [row] = await db('users')
    .insert({ email, username: `person-${u}`, ...(authSubject ? { auth_subject: authSubject } : {}) })
    .returning(['id']);
  return { id: row!.id, email };
}

function app(config: Partial<AppDeps['config']> = {}, streamHub?: DeploymentStreamHub) {
  return createApp({
    db,
    logger: logs.logger,
    config: {
      PROJECT_SERVICE_TOKEN: serviceToken,
      PUBLIC_DOMAIN: 'example.app',
      AUTH_JWT_JWKS_URL: idp.jwksUrl,
      AUTH_JWT_ISSUER: idp.issuer,
      AUTH_JWT_AUDIENCE: idp.audience,
      RATE_LIMIT_AUTH_FAILURES: 1_000_000, // this file earns many 401s on purpose
      ...config,
    },
    ...(streamHub ? { streamHub } : {}),
  });
}

/** Runs `built` as a listening app for the duration of `use`. */
async function withApp<T>(built: ReturnType<typeof createApp>, use: (at: string) => Promise<T>): Promise<T> {
  const server = await listen(built, { port: 0, host: '127.0.0.1', logger: logs.logger, drainDelayMs: 0 });
  try {
    return await use(`http://127.0.0.1:${server.port}`);
  } finally {
    await server.shutdown('test over');
  }
}

beforeAll(async () => {
  idp = await startTestIdentityProvider();
  database = await createTestDatabase('project');
  db = database.db;
  make = factories(db);
  hub = testStreamHub(database, logs.logger, { STREAM_HEARTBEAT_MS: 10_000 });
  await hub.start();
  running = await listen(app({}, hub), { port: 0, host: '127.0.0.1', logger: logs.logger, drainDelayMs: 0 });
  base = `http://127.0.0.1:${running.port}`;

  alice = await user();
  bob = await user();
  carol = await user('auth0|carol');
  aliceProjects = [];
  for (let i = 0; i < 10; i++) aliceProjects.push(await make.project({ userId: alice.id }));
  bobProject = await make.project({ userId: bob.id });
  await make.deployment(aliceProjects[0]!.id, 'done');
  await make.deployment(bobProject.id, 'done');
  // Providers lower-case addresses; ours keep the case they were registered with.
  tokens = {
    admin: await idp.sign({ sub: 'auth0|admin', permissions: ['read:projects', 'admin'] }),
    alice: await idp.sign({ sub: 'auth0|alice', email: alice.email.toLowerCase(), email_verified: true }),
    bob: await idp.sign({ sub: 'google-oauth2|bob', email: bob.email, email_verified: true }, { alg: 'ES256' }),
    carol: await idp.sign({ sub: 'auth0|carol' }),
  };
});

afterEach(() => clients.closeAll());

afterAll(async () => {
  await Promise.all([running.shutdown('test over'), hub.stop()]);
  await database.drop();
  await idp.stop();
});

describe('authentication in JWT mode', () => {
  it('takes the service token as before, an admin token, and users mapped by verified email or by linked subject', async () => {
    for (const token of [serviceToken, tokens.admin, tokens.alice, tokens.bob, tokens.carol]) {
      expect((await call('get', '/projects', token)).status).toBe(200);
    }
  });

  const bad: Array<[string, () => Promise<string>]> = [
    ['expired', () => idp.sign({ sub: 'auth0|admin', permissions: ['admin'], iat: now() - 600 }, { expiresIn: now() - 60 })],
    ['not yet valid', () => idp.sign({ sub: 'auth0|admin', permissions: ['admin'] }, { notBefore: now() + 120 })],
    ['for another audience', () => idp.sign({ sub: 'auth0|admin', permissions: ['admin'], aud: 'https://other.api' })],
    ['from another issuer', () => idp.sign({ sub: 'auth0|admin', permissions: ['admin'], iss: 'https://evil.example/' })],
    [
      'signed by another key under a published kid',
      async () => idp.sign({ sub: 'auth0|admin', permissions: ['admin'] }, { key: await idp.foreignKey() }),
    ],
    ['naming a kid the key set lacks', () => idp.sign({ sub: 'auth0|admin', permissions: ['admin'] }, { kid: 'rsa-9' })],
    [
      'unsecured (alg none)',
      async () =>
        `${base64urlJson({ alg: 'none', typ: 'JWT' })}.${base64urlJson({ sub: 'auth0|admin', permissions: ['admin'], iss: idp.issuer, aud: idp.audience, exp: now() + 60 })}.`,
    ],
    [
      'HS256 keyed with the published public key',
      async () => {
        const pem = createPublicKey({ key: idp.publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
        const input = `${base64urlJson({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' })}.${base64urlJson({ sub: 'auth0|admin', permissions: ['admin'], iss: idp.issuer, aud: idp.audience, exp: now() + 60 })}`;
        return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
      },
    ],
    ['that is garbage in JWT form', async () => 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.bm90IGEgc2lnbmF0dXJl'],
    ['that is garbage', async () => 'not-a-token'],
    ['of an unverified address', () => idp.sign({ sub: 'auth0|mallory', email: alice.email, email_verified: false })],
    [
      'of a verified address whose user is linked to another subject',
      () => idp.sign({ sub: 'auth0|carol-again', email: carol.email, email_verified: true }),
    ],
    ['of nobody we know', () => idp.sign({ sub: 'auth0|stranger', email: 'stranger@example.com', email_verified: true })],
  ];

  it.each(bad)('answers a token %s with the 401 of no token at all, and logs why without the token', async (_case, make) => {
    const token = await make();
    const none = await call('get', '/projects', null);
    const res = await call('get', '/projects', token);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(comparable(res)).toEqual(comparable(none));
    const line = logs.lines.find((l) => l.includes(res.headers['x-request-id']!) && l.includes('"auth":"jwt"'));
    if (token.includes('.')) expect(line).toBeDefined();
    expect(logs.lines.some((l) => l.includes(token))).toBe(false);
  });

  it('does not count an expired but genuine token against the address (a stale session), but does count forgeries', async () => {
    await withApp(app({ RATE_LIMIT_AUTH_FAILURES: 3 }), async (at) => {
      const expired = await idp.sign({ sub: 'auth0|alice', iat: now() - 600 }, { expiresIn: now() - 60 });
      for (let i = 0; i < 5; i++) expect((await call('get', '/projects', expired, { at })).status).toBe(401);
      const forged = await idp.sign({ sub: 'auth0|admin', permissions: ['admin'] }, { key: await idp.foreignKey() });
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await call('get', '/projects', forged, { at })).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
    });
  });

  it('counts concurrent forgeries with unknown kids as they fail (a key set lookup each): of 100 at once, exactly RATE_LIMIT_AUTH_FAILURES are 401s, and a good token still passes', async () => {
    await withApp(app({ RATE_LIMIT_AUTH_FAILURES: 10 }), async (at) => {
      const forged = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          idp.sign({ sub: 'auth0|admin', permissions: ['admin'] }, { kid: `unknown-${i}-${randomBytes(4).toString('hex')}` }),
        ),
      );
      const statuses = await Promise.all(forged.map((token) => call('get', '/projects', token, { at }).then((r) => r.status)));
      expect({ 401: statuses.filter((s) => s === 401).length, 429: statuses.filter((s) => s === 429).length }).toEqual({
        401: 10,
        429: 90,
      });
      expect((await call('get', '/projects', tokens.admin, { at })).status).toBe(200);
    });
  });

  it('refuses JWTs altogether when JWT mode is off (the default), even an admin one', async () => {
    await withApp(app({ AUTH_JWT_JWKS_URL: undefined, AUTH_JWT_ISSUER: undefined, AUTH_JWT_AUDIENCE: undefined }), async (at) => {
      expect((await call('get', '/projects', tokens.admin, { at })).status).toBe(401);
      expect((await call('get', '/projects', serviceToken, { at })).status).toBe(200);
    });
  });

  it('answers 503 with Retry-After, not 401 or 500, when the key set cannot be fetched; the service token still works', async () => {
    await withApp(app({ AUTH_JWT_JWKS_URL: 'http://127.0.0.1:1/.well-known/jwks.json' }), async (at) => {
      const res = await call('get', '/projects', tokens.admin, { at });
      expect(res.status).toBe(503);
      expect(res.body.name).toBe('ServiceUnavailableError');
      expect(res.headers['retry-after']).toBe('5');
      expect((await call('get', '/projects', serviceToken, { at })).status).toBe(200);
    });
    idp.fail();
    try {
      await withApp(app(), async (at) => expect((await call('get', '/projects', tokens.alice, { at })).status).toBe(503));
    } finally {
      idp.recover();
    }
  });

  it('fetches the key set once for many requests', async () => {
    await withApp(app(), async (at) => {
      const before = idp.fetches;
      for (let i = 0; i < 5; i++) expect((await call('get', '/projects', tokens.bob, { at })).status).toBe(200);
      expect(idp.fetches - before).toBe(1);
    });
  });

  it('an admin token sees what the service token sees, operator routes included', async () => {
    for (const path of ['/projects', '/deployments', '/outbox/status', '/ops/busy-projects', `/users/${bob.id}/stats`]) {
      const asService = await call('get', path, serviceToken);
      const asAdmin = await call('get', path, tokens.admin);
      expect(asAdmin.status).toBe(200);
      expect(asAdmin.body).toEqual(asService.body);
    }
  });
});

describe('config', () => {
  const env = {
    PROJECT_DATABASE_URL: 'postgres://x@localhost/db',
    PROJECT_SERVICE_TOKEN: 'a'.repeat(20),
    AGGREGATOR_SERVICE_TOKEN: 'b'.repeat(20),
  };
  const jwt = {
    AUTH_JWT_JWKS_URL: 'https://tenant.auth0.com/.well-known/jwks.json',
    AUTH_JWT_ISSUER: 'https://tenant.auth0.com/',
    AUTH_JWT_AUDIENCE: 'https://api.example.com',
  };

  it('is off by default and on with all three settings, RS256 and ES256 by default', () => {
    expect(loadConfig(env).AUTH_JWT_JWKS_URL).toBeUndefined();
    expect(loadConfig({ ...env, ...jwt })).toMatchObject({
      ...jwt,
      AUTH_JWT_ALGORITHMS: ['RS256', 'ES256'],
      AUTH_JWT_ADMIN_CLAIM: 'permissions',
      AUTH_JWT_ADMIN_VALUE: 'admin',
    });
  });

  it('refuses a partial setup, naming what is missing', () => {
    expect(() => loadConfig({ ...env, AUTH_JWT_ISSUER: jwt.AUTH_JWT_ISSUER })).toThrow(
      /AUTH_JWT_JWKS_URL, AUTH_JWT_AUDIENCE: required when/,
    );
  });

  it('refuses symmetric algorithms and none, and a plain-http key set in production', () => {
    expect(() => loadConfig({ ...env, ...jwt, AUTH_JWT_ALGORITHMS: 'RS256,HS256' })).toThrow(/AUTH_JWT_ALGORITHMS/);
    expect(() => loadConfig({ ...env, ...jwt, AUTH_JWT_ALGORITHMS: 'none' })).toThrow(/AUTH_JWT_ALGORITHMS/);
    expect(() => loadConfig({ ...env, ...jwt, NODE_ENV: 'production', AUTH_JWT_JWKS_URL: 'http://idp/.well-known/jwks.json' })).toThrow(
      /must be https/,
    );
  });
});

/**
 * Asks for another user's resource, then deletes it and asks again: the two answers must be the
 * same bytes (but for the request id): nothing tells "not yours" from "not there".
 */
async function sameAsMissing(
  method: 'get' | 'post',
  path: string,
  token: string,
  remove: () => Promise<unknown>,
  body?: unknown,
): Promise<Sent> {
  const theirs = await call(method, path, token, { body });
  await remove();
  const missing = await call(method, path, token, { body });
  expect(theirs.status).toBe(404);
  expect(comparable(theirs)).toEqual(comparable(missing));
  return theirs;
}

describe("a user's token: own data only", () => {
  it("lists only the user's projects, with their total and links", async () => {
    const first = await call('get', '/projects', tokens.alice);
    expect(first.headers['x-total-count']).toBe('10');
    expect(first.body).toHaveLength(8);
    expect(first.body.every((p: { userId: number }) => p.userId === alice.id)).toBe(true);
    expect(first.headers.link).toContain('page=2>; rel="last"');
    const second = await call('get', '/projects?page=2', tokens.alice);
    expect(second.body.map((p: { id: number }) => p.id)).toEqual(aliceProjects.slice(8).map((p) => p.id));
    const asBob = await call('get', '/projects', tokens.bob);
    expect(asBob.headers['x-total-count']).toBe('1');
    expect(asBob.body.map((p: { id: number }) => p.id)).toEqual([bobProject.id]);
    expect((await call('get', '/projects', tokens.carol)).headers['x-total-count']).toBe('0');
  });

  it("shows the user's own project, and another's as missing", async () => {
    expect((await call('get', `/projects/${aliceProjects[0]!.id}`, tokens.alice)).status).toBe(200);
    const other = await make.project({ userId: bob.id });
    await sameAsMissing('get', `/projects/${other.id}`, tokens.alice, () => db('projects').where({ id: other.id }).delete());
  });

  it("lists only the user's deployments, filters included, and shows another's as missing", async () => {
    const mine = await make.deployment(aliceProjects[1]!.id, 'pending');
    const theirs = await make.deployment(bobProject.id, 'pending');
    const all = await call('get', '/deployments?status=pending', tokens.alice);
    const ids = all.body.map((d: { id: number }) => d.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(theirs.id);
    const { count } = (await db('deployments')
      .join('projects', 'projects.id', 'deployments.project_id')
      .where({ user_id: alice.id, status: 'pending' })
      .count({ count: '*' })
      .first())!;
    expect(all.headers['x-total-count']).toBe(String(count));
    const byProject = await call('get', `/deployments?projectId=${bobProject.id}`, tokens.alice);
    expect(byProject.body).toEqual([]);
    expect(byProject.headers['x-total-count']).toBe('0');
    expect((await call('get', `/deployments/${mine.id}`, tokens.alice)).status).toBe(200);
    await sameAsMissing('get', `/deployments/${theirs.id}`, tokens.alice, () => db('deployments').where({ id: theirs.id }).delete());
  });

  it("cannot deploy or cancel on another's project: the same 404, and nothing is written", async () => {
    const other = await make.project({ userId: bob.id });
    const target = await make.deployment(other.id, 'building');
    const counts = async () => ({
      deployments: Number((await db('deployments').count({ n: '*' }).first())!.n),
      outbox: Number((await db('outbox').count({ n: '*' }).first())!.n),
    });
    const before = await counts();
    for (const path of [`/projects/${other.id}/deployments`, `/projects/${other.id}/deployment`]) {
      expect((await call('post', path, tokens.alice, { body: {} })).status).toBe(404);
    }
    expect((await call('post', `/deployments/${target.id}/cancel`, tokens.alice, { body: {} })).status).toBe(404);
    expect(await counts()).toEqual(before);
    expect((await db('deployments').where({ id: target.id }).first())!.status).toBe('building');

    await sameAsMissing(
      'post',
      `/deployments/${target.id}/cancel`,
      tokens.alice,
      () => db('deployments').where({ id: target.id }).delete(),
      {},
    );
    await sameAsMissing(
      'post',
      `/projects/${other.id}/deployments`,
      tokens.alice,
      () => db('projects').where({ id: other.id }).delete(),
      {},
    );
  });

  it("cannot deploy on another's project with an Idempotency-Key either: nothing written, no key kept", async () => {
    const other = await make.project({ userId: bob.id });
    const keys = async () =>
      Number(
        (
          (await db('idempotency_keys' as never)
            .count({ n: '*' })
            .first()) as { n: string }
        ).n,
      );
    const before = {
      keys: await keys(),
      deployments: Number((await db('deployments').where({ project_id: other.id }).count({ n: '*' }).first())!.n),
    };
    const res = await fetch(`${base}/projects/${other.id}/deployments`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${tokens.alice}`,
        'idempotency-key': `k-${randomBytes(6).toString('hex')}`,
        'content-type': 'application/json',
      },
      body: '{}',
    });
    expect(res.status).toBe(404);
    expect(await keys()).toBe(before.keys);
    expect(Number((await db('deployments').where({ project_id: other.id }).count({ n: '*' }).first())!.n)).toBe(before.deployments);
  });

  it("cannot rotate any project's secret, even its own: an operator route", async () => {
    const own = aliceProjects[6]!;
    const digest = (await db('projects').where({ id: own.id }).first())!.app_secret_sha256;
    const res = await call('post', `/projects/${own.id}/secret`, tokens.alice, { body: {} });
    expect(res.status).toBe(404);
    expect(res.body.message).toBe(`No route for POST /projects/${own.id}/secret`);
    expect((await db('projects').where({ id: own.id }).first())!.app_secret_sha256).toEqual(digest);
    expect((await call('post', `/projects/${own.id}/secret`, tokens.admin, { body: {} })).status).toBe(200);
  });

  it('deploys and cancels on its own project', async () => {
    const created = await call('post', `/projects/${aliceProjects[2]!.id}/deployments`, tokens.alice, { body: {} });
    expect(created.status).toBe(201);
    const cancelled = await call('post', `/deployments/${created.body.id}/cancel`, tokens.alice, { body: {} });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
  });

  it("gets the user's own statistics, and another user's as a missing user's", async () => {
    const own = await call('get', `/users/${alice.id}/stats`, tokens.alice);
    expect(own.status).toBe(200);
    expect(own.body.deployments).toBeGreaterThan(0);
    const other = await user();
    await make.project({ userId: other.id });
    await sameAsMissing('get', `/users/${other.id}/stats`, tokens.alice, async () => {
      await db('projects').where({ user_id: other.id }).delete();
      await db('users').where({ id: other.id }).delete();
    });
  });

  it("gets no further than the activity feed's project check for another's project", async () => {
    // This app has no aggregator: a project that passes the check is a 503, one that does not a 404.
    expect((await call('get', `/projects/${aliceProjects[0]!.id}/activity`, tokens.alice)).status).toBe(503);
    const other = await make.project({ userId: bob.id });
    await sameAsMissing('get', `/projects/${other.id}/activity`, tokens.alice, () => db('projects').where({ id: other.id }).delete());
  });

  it('gets the 404 of an unknown route from the operator routes', async () => {
    for (const path of ['/outbox/status', '/ops/busy-projects']) {
      const res = await call('get', path, tokens.alice);
      const unknown = await call('get', `${path}-nope`, tokens.alice);
      expect(res.status).toBe(404);
      expect(comparable(res).text.replaceAll(path, '…')).toEqual(comparable(unknown).text.replaceAll(`${path}-nope`, '…'));
      const { 'content-length': _a, ...headers } = comparable(res).headers;
      const { 'content-length': _b, ...unknownHeaders } = comparable(unknown).headers;
      expect(headers).toEqual(unknownHeaders); // all but the length, which the path sets
    }
  });

  it("costs one statement a request, as the service token does, once the user's mapping is cached", async () => {
    // The hub of this file reads deployment_changes on its own: those statements are not the request's.
    const statements = async (token: string, at: string) =>
      (await countQueries(db, () => call('get', `/projects/${aliceProjects[0]!.id}`, token, { at }))).queries.filter(
        (q) => !q.includes('deployment_changes'),
      );
    await withApp(app(), async (at) => {
      expect(await statements(tokens.alice, at)).toHaveLength(2); // the mapping, then the project
      expect(await statements(tokens.alice, at)).toHaveLength(1);
      expect(await statements(serviceToken, at)).toHaveLength(1);
      expect(await statements(tokens.admin, at)).toHaveLength(1);
    });
  });

  it('the service token still sees everything in JWT mode', async () => {
    const total = Number((await db('projects').count({ n: '*' }).first())!.n);
    expect((await call('get', '/projects', serviceToken)).headers['x-total-count']).toBe(String(total));
  });
});

describe("a user's token: live streams", () => {
  function stream(path: string, token: string, headers?: Record<string, string>): StreamClient {
    return clients.open(`${base}${path}`, { token, headers, contract: projectContract() });
  }
  const deploy = async (projectId: number) =>
    (await call('post', `/projects/${projectId}/deployments`, serviceToken, { body: {} })).body as { id: number };

  it("streams only the user's projects on the all-projects stream, live and on resume", async () => {
    const mine = stream('/deployments/stream', tokens.alice);
    const everything = stream('/deployments/stream', tokens.admin);
    await Promise.all([mine.opened, everything.opened]);
    const a = await deploy(aliceProjects[3]!.id);
    const b = await deploy(bobProject.id);
    const c = await deploy(aliceProjects[4]!.id);
    const seen = await everything.waitFor(3);
    expect(seen.map((e) => e.data.id)).toEqual([a.id, b.id, c.id]);
    const own = await mine.waitFor(2);
    expect(own.map((e) => e.data.id)).toEqual([a.id, c.id]);
    await new Promise((r) => setTimeout(r, 100));
    expect(mine.events).toHaveLength(2);

    // Resuming from before the three: the replay skips Bob's too.
    const resumed = stream('/deployments/stream', tokens.alice, { 'Last-Event-ID': String(Number(seen[0]!.id) - 1) });
    expect((await resumed.waitFor(2)).map((e) => e.data.id)).toEqual([a.id, c.id]);
    await new Promise((r) => setTimeout(r, 100));
    expect(resumed.events).toHaveLength(2);
  });

  /** A hub of its own with small caps, behind a JWT-mode app, for the duration of `use`. */
  async function withSmallHub(
    caps: { maxClients: number; maxPerUser: number },
    use: (at: string, small: DeploymentStreamHub) => Promise<void>,
  ) {
    const small = testStreamHub(database, logs.logger, {
      STREAM_HEARTBEAT_MS: 10_000,
      STREAM_MAX_CLIENTS: caps.maxClients,
      STREAM_MAX_PER_USER: caps.maxPerUser,
      STREAM_POLL_MS: 50,
    });
    await small.start();
    await withApp(app({}, small), async (at) => {
      try {
        await use(at, small);
      } finally {
        clients.closeQuietly();
        await small.stop(); // ends its streams, so that the server's shutdown need not wait for them
      }
    });
  }
  /**
   * A stream request expected to be refused, checked against the documents; one that opens (the
   * bug) is cancelled at once and answered with its 200, rather than read forever.
   */
  const refusal = async (
    at: string,
    path: string,
    token: string,
  ): Promise<{ status: number; headers: Record<string, string>; body: unknown }> => {
    const res = await fetch(`${at}${path}`, { headers: { authorization: `Bearer ${token}` } });
    const headers = Object.fromEntries(res.headers);
    if (res.status === 200) {
      await res.body?.cancel();
      return { status: 200, headers, body: undefined };
    }
    const body: unknown = await res.json();
    contract.check('get', path, res.status, body, headers['content-type'], headers);
    return { status: res.status, headers, body };
  };
  const opened = async (at: string, path: string, token: string, n: number) => {
    const open = Array.from({ length: n }, () => clients.open(`${at}${path}`, { token, contract: projectContract() }));
    await Promise.all(open.map((c) => c.opened));
    return open;
  };

  it('caps the streams of one user with a 429 and Retry-After, and leaves the others theirs', async () => {
    await withSmallHub({ maxClients: 50, maxPerUser: 2 }, async (at, small) => {
      const alices = await opened(at, '/deployments/stream', tokens.alice, 2);
      const refused = await refusal(at, `/projects/${aliceProjects[1]!.id}/deployments/stream`, tokens.alice);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.body).toMatchObject({
        status: 429,
        name: 'TooManyRequestsError',
        message: 'This user already has 2 live streams open; close one, or try again later',
      });
      // another user, and the operators, are not held back by her
      await opened(at, '/deployments/stream', tokens.bob, 2);
      await opened(at, '/deployments/stream', tokens.admin, 3);
      await opened(at, '/deployments/stream', serviceToken, 3);
      expect(small.streams).toBe(10);
      // a closed stream gives its slot back
      alices[0]!.close();
      for (let i = 0; i < 1_000 && small.streams > 9; i++) await new Promise((r) => setTimeout(r, 10));
      await opened(at, '/deployments/stream', tokens.alice, 1);
    });
  });

  it("keeps a tenth of STREAM_MAX_CLIENTS for the service token and admins when users' streams fill the rest", async () => {
    await withSmallHub({ maxClients: 10, maxPerUser: 100 }, async (at, small) => {
      await opened(at, '/deployments/stream', tokens.alice, 9);
      const refused = await refusal(at, '/deployments/stream', tokens.bob);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.body).toMatchObject({
        name: 'ServiceUnavailableError',
        message: 'This process already serves 9 live streams of users; try again shortly',
      });
      await opened(at, '/deployments/stream', tokens.admin, 1);
      expect(small.streams).toBe(10);
      expect((await refusal(at, '/deployments/stream', serviceToken)).status).toBe(503);
    });
  });

  it("answers another's project stream with a missing project's 404", async () => {
    const own = rawStream(`${base}/projects/${aliceProjects[5]!.id}/deployments/stream`, tokens.alice);
    await own.waitForText(/retry: /);
    expect(own.response?.statusCode).toBe(200);
    own.close();
    const other = await make.project({ userId: bob.id });
    await sameAsMissing('get', `/projects/${other.id}/deployments/stream`, tokens.alice, () =>
      db('projects').where({ id: other.id }).delete(),
    );
  });
});
