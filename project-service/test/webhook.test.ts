import type { DeploymentStatus, Knex } from '@hosting/shared';
import type { DeploymentRow } from '../src/db/tables.js';
import { testService, type Sent, type TestService } from './helpers.js';

let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

const STATUSES: DeploymentStatus[] = ['pending', 'building', 'deploying', 'done', 'failed', 'cancelled'];
type Outcome = 'apply' | 'same' | 'stale' | 'conflict';

/**
 * What the webhook does, written out from the rules rather than imported from the code under test:
 * forward along pending → building → deploying → done (skips allowed) and into failed/cancelled
 * from any ongoing status is applied; the same status is a duplicate; going back is stale, from a
 * final status too (a late delivery: the sender must not retry it); one final status over another
 * (failed after done, done after a cancel) is a conflict.
 */
const EXPECTED: Record<DeploymentStatus, Record<DeploymentStatus, Outcome>> = {
  pending: { pending: 'same', building: 'apply', deploying: 'apply', done: 'apply', failed: 'apply', cancelled: 'apply' },
  building: { pending: 'stale', building: 'same', deploying: 'apply', done: 'apply', failed: 'apply', cancelled: 'apply' },
  deploying: { pending: 'stale', building: 'stale', deploying: 'same', done: 'apply', failed: 'apply', cancelled: 'apply' },
  done: { pending: 'stale', building: 'stale', deploying: 'stale', done: 'same', failed: 'conflict', cancelled: 'conflict' },
  failed: { pending: 'stale', building: 'stale', deploying: 'stale', done: 'conflict', failed: 'same', cancelled: 'conflict' },
  cancelled: { pending: 'stale', building: 'stale', deploying: 'stale', done: 'conflict', failed: 'conflict', cancelled: 'same' },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function webhook(body: unknown, token: string | null, headers?: Record<string, string>): Promise<Sent> {
  return svc.call('post', '/deployment/webhook', { token, body, headers });
}

function rowOf(id: number) {
  return svc.db('deployments').where({ id }).first();
}

function eventsOf(deploymentId: number) {
  return svc
    .db('outbox')
    .whereRaw(`payload->>'deploymentId' = ?`, [String(deploymentId)])
    .orderBy('id')
    .select('event_id', 'name', 'payload', 'occurred_at');
}

function projectEvents(projectId: number, name: string) {
  return svc
    .db('outbox')
    .whereRaw(`payload->>'projectId' = ?`, [String(projectId)])
    .andWhere({ name })
    .orderBy('id')
    .select('name', 'payload');
}

function json(d: DeploymentRow) {
  return {
    id: d.id,
    projectId: d.project_id,
    status: d.status,
    deployedIn: d.deployed_in,
    createdAt: d.created_at.toISOString(),
    updatedAt: d.updated_at.toISOString(),
  };
}

const secondsAgo = (s: number) => new Date(Date.now() - s * 1000);
/** Whole seconds from `t` to now: the most a deployedIn measured before now can be, on a machine of any speed. */
const secondsSince = (t: Date) => Math.floor((Date.now() - t.getTime()) / 1000);

describe('POST /deployment/webhook: every transition', () => {
  const pairs = STATUSES.flatMap((from) => STATUSES.map((to) => [from, to, EXPECTED[from][to]] as const));

  it.each(pairs)('%s → %s is %s', async (from, to, outcome) => {
    const project = await svc.make.project();
    const before = await svc.make.deployment(project.id, from, secondsAgo(10));
    const res = await webhook({ id: before.id, status: to }, project.secret);
    const events = await eventsOf(before.id);
    const after = await rowOf(before.id);

    if (outcome === 'conflict') {
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({
        name: 'ConflictError',
        status: 409,
        message: `Deployment ${before.id} is ${from}, a final status; it cannot become ${to}`,
      });
      expect(res.headers['x-webhook-outcome']).toBeUndefined();
      expect(after).toEqual(before);
      expect(events).toEqual([]);
      return;
    }

    expect(res.status).toBe(200);
    expect(res.headers['x-webhook-outcome']).toBe(outcome);
    if (outcome === 'same' || outcome === 'stale') {
      expect(res.body).toEqual(json(before));
      expect(after).toEqual(before);
      expect(events).toEqual([]);
      return;
    }

    // apply
    expect(after!.status).toBe(to);
    expect(after!.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
    expect(after!.created_at).toEqual(before.created_at);
    expect(res.body).toEqual(json(after!));
    if (to === 'done') {
      expect(after!.deployed_in).toBeGreaterThanOrEqual(10);
      expect(after!.deployed_in).toBeLessThanOrEqual(secondsSince(before.created_at)); // however long the request took
    } else {
      expect(after!.deployed_in).toBeNull();
    }
    const common = {
      projectId: project.id,
      projectName: project.name,
      userId: project.userId,
      deploymentId: before.id,
      source: 'webhook',
      requestId: res.headers['x-request-id'],
    };
    const project2 = await svc.db('projects').where({ id: project.id }).first('url');
    const expected: Array<{ name: string; payload: Record<string, unknown> }> = [
      { name: 'deployment.status_changed', payload: { ...common, from, to, deployedIn: after!.deployed_in } },
    ];
    if (to === 'done') {
      expected.push({ name: 'deployment.succeeded', payload: { ...common, deployedIn: after!.deployed_in } });
      expected.push({ name: 'project.url_assigned', payload: { ...common, url: project2!.url } });
    }
    if (to === 'failed') expected.push({ name: 'deployment.failed', payload: { ...common, from } });
    if (to === 'cancelled') expected.push({ name: 'deployment.cancelled', payload: { ...common, from } });
    expect(events.map(({ name, payload }) => ({ name, payload }))).toEqual(expected);
    for (const e of events) {
      expect(e.event_id).toMatch(UUID);
      expect(e.occurred_at).toEqual(after!.updated_at);
    }
    if (to === 'done') expect(project2!.url).toMatch(/^https:\/\//);
    else expect(project2!.url).toBeNull();
  });
});

describe('POST /deployment/webhook: done', () => {
  it('measures deployedIn on the database clock, writes status_changed and succeeded, and gives the project its URL', async () => {
    const project = await svc.make.project();
    const before = await svc.make.deployment(project.id, 'deploying', secondsAgo(90));
    const res = await webhook({ id: before.id, status: 'done' }, project.secret);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('done');
    expect(res.body.deployedIn).toBeGreaterThanOrEqual(90);
    expect(res.body.deployedIn).toBeLessThanOrEqual(secondsSince(before.created_at));
    expect(Number.isInteger(res.body.deployedIn)).toBe(true);
    const after = await rowOf(before.id);
    expect(after).toMatchObject({ status: 'done', deployed_in: res.body.deployedIn });

    const { url } = (await svc.db('projects').where({ id: project.id }).first('url'))!;
    expect(url).toMatch(new RegExp(`^https://${project.name}-[0-9a-f]{10}\\.example\\.app$`));

    const events = await eventsOf(before.id);
    expect(events.map((e) => e.name)).toEqual(['deployment.status_changed', 'deployment.succeeded', 'project.url_assigned']);
    expect(events[0]!.payload).toMatchObject({ from: 'deploying', to: 'done', deployedIn: res.body.deployedIn });
    expect(events[1]!.payload).toMatchObject({ deployedIn: res.body.deployedIn });
    expect(events[2]!.payload).toMatchObject({ projectId: project.id, url });

    const shown = await svc.call('get', `/projects/${project.id}`);
    expect(shown.body).toMatchObject({ url, hasLiveDeployment: true, hasOngoingDeployment: false });
  });

  it('counts deployedIn from the creation, not from the last status change', async () => {
    const project = await svc.make.project();
    const before = await svc.make.deployment(project.id, 'pending', secondsAgo(90));
    expect((await webhook({ id: before.id, status: 'building' }, project.secret)).status).toBe(200);
    expect((await webhook({ id: before.id, status: 'deploying' }, project.secret)).status).toBe(200);
    const res = await webhook({ id: before.id, status: 'done' }, project.secret);
    expect(res.body.deployedIn).toBeGreaterThanOrEqual(90);
    expect(res.body.deployedIn).toBeLessThanOrEqual(secondsSince(before.created_at));
    expect((await eventsOf(before.id)).map((e) => [e.name, e.payload.deployedIn ?? null])).toEqual([
      ['deployment.status_changed', null],
      ['deployment.status_changed', null],
      ['deployment.status_changed', res.body.deployedIn],
      ['deployment.succeeded', res.body.deployedIn],
      ['project.url_assigned', null],
    ]);
  });

  it("keeps the project's URL when a later deployment reaches done, and writes no url_assigned", async () => {
    const project = await svc.make.project();
    const first = await svc.make.deployment(project.id, 'building');
    expect((await webhook({ id: first.id, status: 'done' }, project.secret)).status).toBe(200);
    const { url } = (await svc.db('projects').where({ id: project.id }).first('url'))!;
    expect(url).not.toBeNull();

    const second = await svc.make.deployment(project.id, 'pending', secondsAgo(5));
    const res = await webhook({ id: second.id, status: 'done' }, project.secret);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'done', deployedIn: expect.any(Number) });
    expect((await svc.db('projects').where({ id: project.id }).first('url'))!.url).toBe(url);
    expect((await eventsOf(second.id)).map((e) => e.name)).toEqual(['deployment.status_changed', 'deployment.succeeded']);
    expect(await projectEvents(project.id, 'project.url_assigned')).toHaveLength(1);
  });
});

describe('POST /deployment/webhook: authentication', () => {
  it.each([
    ['no Authorization header', () => null],
    ['a wrong secret', () => 'not-the-secret-of-this-project'],
    ['an empty bearer', () => ''],
    ['a 10 kB token', () => 'x'.repeat(10_240)],
    ['the admin token', () => svc.token],
  ] as Array<[string, () => string | null]>)('is a 401 with WWW-Authenticate for %s, and changes nothing', async (_label, token) => {
    const project = await svc.make.project();
    const before = await svc.make.deployment(project.id, 'building');
    const res = await webhook({ id: before.id, status: 'done' }, token());
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body).toMatchObject({ name: 'UnauthorizedError', status: 401, message: 'Missing or invalid credentials' });
    expect(await rowOf(before.id)).toEqual(before);
    expect(await eventsOf(before.id)).toEqual([]);
    expect((await svc.db('projects').where({ id: project.id }).first('url'))!.url).toBeNull();
  });

  it("refuses another project's secret", async () => {
    const project = await svc.make.project();
    const other = await svc.make.project();
    const before = await svc.make.deployment(project.id, 'pending');
    const res = await webhook({ id: before.id, status: 'failed' }, other.secret);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(await rowOf(before.id)).toEqual(before);
    expect(await eventsOf(before.id)).toEqual([]);
  });

  it('answers an unknown deployment exactly like a wrong secret, so the id cannot be probed', async () => {
    const project = await svc.make.project();
    const mine = await svc.make.deployment(project.id, 'pending');
    const unknown = await webhook({ id: 2_147_483_647, status: 'done' }, project.secret);
    const wrong = await webhook({ id: mine.id, status: 'done' }, 'wrong-secret-of-the-same-length!');
    expect(unknown.status).toBe(401);
    expect(unknown.headers['www-authenticate']).toBe('Bearer');
    expect({ ...unknown.body, requestId: undefined }).toEqual({ ...wrong.body, requestId: undefined });
    expect(await rowOf(mine.id)).toEqual(mine);
  });

  it('with a wrong secret, takes the same path for a known and an unknown id (no timing tells which ids exist)', async () => {
    const project = await svc.make.project();
    const known = await svc.make.deployment(project.id, 'pending');
    // Every statement the request sends and how many rows it read back: the same for both ids means
    // the same work, so the answer's timing cannot separate them (measured: WRITEUP "Threat model").
    let lookup: { sql: string; bindings: unknown[] } | undefined;
    const trace = async (id: number) => {
      const seen: Array<{ sql: string; rows: number }> = [];
      // The failure's count (rate_limits, the same for both) is the limits' bookkeeping, not a lookup.
      const listener = (response: { rows?: unknown[] }, query: { sql: string; bindings: unknown[] }) => {
        if (query.sql.includes('"rate_limits"')) return;
        seen.push({ sql: query.sql, rows: response.rows?.length ?? -1 });
        lookup = query;
      };
      svc.db.on('query-response', listener);
      try {
        const res = await webhook({ id, status: 'done' }, 'wrong-secret-of-the-same-length!');
        expect(res.status).toBe(401);
      } finally {
        svc.db.off('query-response', listener);
      }
      return seen;
    };
    const forKnown = await trace(known.id);
    const forUnknown = await trace(known.id + 1_000_000);
    expect(forKnown).toEqual(forUnknown);
    expect(forKnown.every((q) => q.rows === 0)).toBe(true);
    // And inside that one statement (the one traced, as pg received it: `$n` in order, back to
    // knex's `?`): no project has the digest, so the deployment is never looked up.
    expect(forUnknown).toHaveLength(1);
    const { rows } = await svc.db.raw<{ rows: Array<{ 'QUERY PLAN': string }> }>(
      `explain (analyze, costs off, timing off, summary off) ${lookup!.sql.replace(/\$\d+/g, '?')}`,
      lookup!.bindings as Knex.RawBinding[],
    );
    const plan = rows.map((r) => r['QUERY PLAN']);
    expect(plan.filter((line) => /\bon deployments\b/.test(line))).toEqual([expect.stringContaining('(never executed)')]);
  });

  it('accepts the bearer scheme in any case', async () => {
    const project = await svc.make.project();
    const d = await svc.make.deployment(project.id, 'pending');
    const res = await svc.call('post', '/deployment/webhook', {
      token: null,
      headers: { Authorization: `bearer ${project.secret}` },
      body: { id: d.id, status: 'building' },
    });
    expect(res.status).toBe(200);
    expect((await rowOf(d.id))!.status).toBe('building');
  });
});

describe('POST /deployment/webhook: validation', () => {
  let project: { id: number; secret: string };
  let before: DeploymentRow;
  beforeAll(async () => {
    project = await svc.make.project();
    before = await svc.make.deployment(project.id, 'building');
  });
  afterEach(async () => {
    expect(await rowOf(before.id)).toEqual(before);
    expect(await eventsOf(before.id)).toEqual([]);
  });

  it.each([
    ['a missing id', () => ({ status: 'done' }), 'body.id'],
    ['a missing status', () => ({ id: before.id }), 'body.status'],
    ['a status outside the enum', () => ({ id: before.id, status: 'live' }), 'body.status'],
    ['an id as a string', () => ({ id: String(before.id), status: 'done' }), 'body.id'],
    ['a fractional id', () => ({ id: before.id + 0.5, status: 'done' }), 'body.id'],
    ['an id past int4', () => ({ id: 2_147_483_648, status: 'done' }), 'body.id'],
    ['a null status', () => ({ id: before.id, status: null }), 'body.status'],
  ] as Array<[string, () => unknown, string]>)('is a 400 ValidationError naming the field for %s', async (_label, body, path) => {
    const res = await webhook(body(), project.secret);
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('ValidationError');
    expect(res.body.issues.map((i: { path: string }) => i.path)).toContain(path);
  });

  it('is a 400 ValidationError for an extra field, naming it', async () => {
    const res = await webhook({ id: before.id, status: 'done', deployedIn: 3 }, project.secret);
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('ValidationError');
    expect(res.body.issues).toEqual([{ path: 'body.deployedIn', message: 'is not a field of this request' }]);
  });

  it('is a 400 for a body that is not an object', async () => {
    const res = await webhook([{ id: before.id, status: 'done' }], project.secret);
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('ValidationError');
  });

  it('is a 400 for invalid JSON', async () => {
    const res = await svc.call('post', '/deployment/webhook', {
      token: project.secret,
      raw: `{"id": ${before.id}, "status": "done"`,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ name: 'BadRequestError', status: 400 });
  });

  it('is a 415 for a text/plain body', async () => {
    const res = await svc.call('post', '/deployment/webhook', {
      token: project.secret,
      raw: JSON.stringify({ id: before.id, status: 'done' }),
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ name: 'UnsupportedMediaTypeError', status: 415 });
  });

  it('is a 413 for a body over 4 kB', async () => {
    const res = await webhook({ id: before.id, status: 'done', padding: 'x'.repeat(4_200) }, project.secret);
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ name: 'PayloadTooLargeError', status: 413 });
  });

  it('checks the token before reading the body', async () => {
    const res = await svc.call('post', '/deployment/webhook', {
      token: null,
      raw: '{not json',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(res.status).toBe(401);
  });
});

describe('POST /deployment/webhook: races', () => {
  it('applies ten concurrent done deliveries once', async () => {
    const project = await svc.make.project();
    const d = await svc.make.deployment(project.id, 'deploying', secondsAgo(20));
    const responses = await Promise.all(Array.from({ length: 10 }, () => webhook({ id: d.id, status: 'done' }, project.secret)));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    const outcomes = responses.map((r) => r.headers['x-webhook-outcome']).sort();
    expect(outcomes).toEqual(['apply', ...Array(9).fill('same')]);
    const after = await rowOf(d.id);
    expect(after!.status).toBe('done');
    for (const r of responses) expect(r.body).toEqual(json(after!));

    const events = await eventsOf(d.id);
    expect(events.map((e) => e.name).sort()).toEqual(['deployment.status_changed', 'deployment.succeeded', 'project.url_assigned']);
    const { url } = (await svc.db('projects').where({ id: project.id }).first('url'))!;
    expect(url).toMatch(/\.example\.app$/);
    expect(events.find((e) => e.name === 'project.url_assigned')!.payload.url).toBe(url);
  });

  it('assigns one URL when two deployments of a project reach done at once', async () => {
    for (let round = 0; round < 5; round++) {
      const project = await svc.make.project();
      const a = await svc.make.deployment(project.id, 'deploying');
      const b = await svc.make.deployment(project.id, 'building');
      const [ra, rb] = await Promise.all([
        webhook({ id: a.id, status: 'done' }, project.secret),
        webhook({ id: b.id, status: 'done' }, project.secret),
      ]);
      expect([ra.status, rb.status]).toEqual([200, 200]);
      expect([ra.body.status, rb.body.status]).toEqual(['done', 'done']);
      const assigned = await projectEvents(project.id, 'project.url_assigned');
      expect(assigned).toHaveLength(1);
      const { url } = (await svc.db('projects').where({ id: project.id }).first('url'))!;
      expect(url).not.toBeNull();
      expect(assigned[0]!.payload.url).toBe(url);
      expect(await projectEvents(project.id, 'deployment.succeeded')).toHaveLength(2);
    }
  });

  it('lets one of a concurrent cancel and done win, with one status change', async () => {
    const seen = new Set<string>();
    for (let round = 0; round < 6; round++) {
      const project = await svc.make.project();
      const d = await svc.make.deployment(project.id, 'deploying');
      const [cancel, done] = await Promise.all([
        svc.call('post', `/deployments/${d.id}/cancel`),
        webhook({ id: d.id, status: 'done' }, project.secret),
      ]);
      const after = await rowOf(d.id);
      expect(['cancelled', 'done']).toContain(after!.status);
      seen.add(after!.status);
      if (after!.status === 'cancelled') {
        expect(cancel.status).toBe(200);
        expect(done.status).toBe(409);
        expect(done.body.name).toBe('ConflictError');
      } else {
        expect(done.status).toBe(200);
        expect(cancel.status).toBe(400);
        expect(cancel.body.name).toBe('BadRequestError');
      }
      const changes = (await eventsOf(d.id)).filter((e) => e.name === 'deployment.status_changed');
      expect(changes).toHaveLength(1);
      expect(changes[0]!.payload).toMatchObject({ from: 'deploying', to: after!.status });
    }
    expect(seen.size).toBeGreaterThan(0);
  });
});

describe('POST /deployment/webhook: logs', () => {
  it('never writes the app secret or the admin token to a log line', async () => {
    const project = await svc.make.project();
    const d = await svc.make.deployment(project.id, 'pending');
    const from = svc.logs.length;
    await webhook({ id: d.id, status: 'building' }, project.secret);
    await webhook({ id: d.id, status: 'pending' }, project.secret);
    await webhook({ id: d.id, status: 'nope' }, project.secret);
    await webhook({ id: d.id, status: 'done' }, svc.token);
    await webhook({ id: 2_147_483_647, status: 'done' }, project.secret);
    const lines = svc.logs.slice(from);
    const routes = lines.map((l) => JSON.parse(l) as { route?: string; status?: number });
    expect(routes.filter((l) => l.route === '/deployment/webhook').map((l) => l.status)).toEqual([200, 200, 400, 401, 401]);
    for (const line of svc.logs) {
      expect(line).not.toContain(project.secret);
      expect(line).not.toContain(svc.token);
    }
  });
});
