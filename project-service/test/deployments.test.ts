import type { DeploymentStatus } from '@hosting/shared';
import { testService, type TestService } from './helpers.js';

let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The outbox rows about one deployment, oldest first. */
function eventsOf(deploymentId: number) {
  return svc
    .db('outbox')
    .whereRaw(`payload->>'deploymentId' = ?`, [String(deploymentId)])
    .orderBy('id')
    .select('event_id', 'name', 'payload', 'occurred_at');
}

/** How many deployments and outbox rows the database holds: to show that a refused request wrote nothing. */
async function written(): Promise<{ deployments: number; outbox: number }> {
  const [d] = await svc.db('deployments').count<Array<{ count: number }>>({ count: '*' });
  const [o] = await svc.db('outbox').count<Array<{ count: number }>>({ count: '*' });
  return { deployments: Number(d!.count), outbox: Number(o!.count) };
}

/** The URLs of a Link header by rel (`prev previous` is listed under both names). */
function links(header: string | undefined): Record<string, URL> {
  const out: Record<string, URL> = {};
  for (const part of (header ?? '').split(/,\s*(?=<)/)) {
    const match = /^<([^>]+)>;\s*rel="([^"]+)"$/.exec(part.trim());
    if (!match) throw new Error(`unreadable Link part: ${part}`);
    for (const rel of match[2]!.split(' ')) out[rel] = new URL(match[1]!);
  }
  return out;
}

describe('POST /projects/:id/deployment', () => {
  it('creates a pending deployment, points Location at it and writes one deployment.created event', async () => {
    const project = await svc.make.project();
    const res = await svc.call('post', `/projects/${project.id}/deployment`);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      projectId: project.id,
      status: 'pending',
      deployedIn: null,
      createdAt: expect.stringMatching(ISO),
      updatedAt: expect.stringMatching(ISO),
    });
    expect(res.headers.location).toBe(`/deployments/${res.body.id}`);

    const row = await svc.db('deployments').where({ id: res.body.id }).first();
    expect(row).toMatchObject({ project_id: project.id, status: 'pending', deployed_in: null });
    expect(row!.created_at.toISOString()).toBe(res.body.createdAt);
    expect(row!.updated_at.toISOString()).toBe(res.body.updatedAt);

    const events = await eventsOf(res.body.id);
    expect(events).toHaveLength(1);
    expect(events[0]!.name).toBe('deployment.created');
    expect(events[0]!.event_id).toMatch(UUID);
    expect(events[0]!.payload).toEqual({
      projectId: project.id,
      projectName: project.name,
      userId: project.userId,
      deploymentId: res.body.id,
      source: 'api',
      requestId: res.headers['x-request-id'],
      status: 'pending',
    });
    expect(res.headers['x-request-id']).toMatch(UUID);
    expect(events[0]!.occurred_at.toISOString()).toBe(res.body.createdAt);
  });

  it('also answers on the /deployments alias, with an empty JSON object as body', async () => {
    const project = await svc.make.project();
    const res = await svc.call('post', `/projects/${project.id}/deployments`, { body: {} });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ projectId: project.id, status: 'pending', deployedIn: null });
    expect(res.headers.location).toBe(`/deployments/${res.body.id}`);
    expect(await svc.db('deployments').where({ project_id: project.id }).select('id', 'status')).toEqual([
      { id: res.body.id, status: 'pending' },
    ]);
    expect((await eventsOf(res.body.id)).map((e) => e.name)).toEqual(['deployment.created']);
  });

  it("records the caller's X-Request-Id in the event", async () => {
    const project = await svc.make.project();
    const res = await svc.call('post', `/projects/${project.id}/deployment`, { headers: { 'X-Request-Id': 'ci-run-42.step:7' } });
    expect(res.status).toBe(201);
    expect(res.headers['x-request-id']).toBe('ci-run-42.step:7');
    const [event] = await eventsOf(res.body.id);
    expect(event!.payload.requestId).toBe('ci-run-42.step:7');
  });

  it('gives each deployment of a project its own id', async () => {
    const project = await svc.make.project();
    const first = await svc.call('post', `/projects/${project.id}/deployment`);
    const second = await svc.call('post', `/projects/${project.id}/deployment`);
    expect(second.body.id).toBeGreaterThan(first.body.id);
    expect(await svc.db('deployments').where({ project_id: project.id }).count<Array<{ count: number }>>({ count: '*' })).toEqual([
      { count: 2 },
    ]);
  });

  it('is a 404 for an unknown project and writes nothing', async () => {
    const before = await written();
    const res = await svc.call('post', '/projects/2147483647/deployment');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ name: 'NotFoundError', status: 404, message: 'Project 2147483647 not found' });
    expect(await written()).toEqual(before);
  });

  it.each(['0', '-1', 'abc', '1.5', '99999999999'])('is a 400 naming the id for %p', async (id) => {
    const before = await written();
    const res = await svc.call('post', `/projects/${id}/deployment`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ name: 'ValidationError', issues: [expect.objectContaining({ path: 'path.id' })] });
    expect(await written()).toEqual(before);
  });

  it('is a 400 ValidationError for a body with any field, and writes nothing', async () => {
    const project = await svc.make.project();
    const before = await written();
    const res = await svc.call('post', `/projects/${project.id}/deployment`, { body: { status: 'done' } });
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('ValidationError');
    expect(res.body.issues).toEqual([{ path: 'body.status', message: 'is not a field of this request' }]);
    expect(res.body.issues).toHaveLength(1);
    expect(await written()).toEqual(before);
  });

  it('is a 415 for a body that is not JSON, and writes nothing', async () => {
    const project = await svc.make.project();
    const before = await written();
    const res = await svc.call('post', `/projects/${project.id}/deployment`, {
      raw: 'status=done',
      headers: { 'Content-Type': 'text/plain' },
    });
    expect(res.status).toBe(415);
    expect(res.body.name).toBe('UnsupportedMediaTypeError');
    expect(await written()).toEqual(before);
  });

  it('is a 401 with WWW-Authenticate without the admin token, and writes nothing', async () => {
    const project = await svc.make.project();
    const before = await written();
    for (const token of [null, 'wrong-token', project.secret]) {
      const res = await svc.call('post', `/projects/${project.id}/deployment`, { token });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body.name).toBe('UnauthorizedError');
    }
    expect(await written()).toEqual(before);
  });
});

describe('GET /deployments/:id', () => {
  it('shows a deployment as its row holds it', async () => {
    const project = await svc.make.project();
    const row = await svc.make.deployment(project.id, 'done', new Date(Date.now() - 60_000));
    const res = await svc.call('get', `/deployments/${row.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: row.id,
      projectId: project.id,
      status: 'done',
      deployedIn: 42,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    });
  });

  it('shows what the create answered', async () => {
    const project = await svc.make.project();
    const created = await svc.call('post', `/projects/${project.id}/deployment`);
    const res = await svc.call('get', created.headers.location!);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created.body);
  });

  it('is a 404 for an unknown deployment', async () => {
    const res = await svc.call('get', '/deployments/2147483647');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ name: 'NotFoundError', message: 'Deployment 2147483647 not found' });
  });

  it.each(['0', 'abc', '2147483648'])('is a 400 naming the id for %p', async (id) => {
    const res = await svc.call('get', `/deployments/${id}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ name: 'ValidationError', issues: [expect.objectContaining({ path: 'path.id' })] });
  });

  it('is a 401 without the admin token', async () => {
    const project = await svc.make.project();
    const row = await svc.make.deployment(project.id);
    const res = await svc.call('get', `/deployments/${row.id}`, { token: null });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body.name).toBe('UnauthorizedError');
  });
});

describe('GET /deployments', () => {
  const STATUSES: DeploymentStatus[] = ['pending', 'building', 'deploying', 'done', 'failed', 'cancelled'];
  let project: { id: number };
  let ids: number[];
  let statusOf: Map<number, DeploymentStatus>;
  beforeAll(async () => {
    project = await svc.make.project();
    const other = await svc.make.project();
    ids = [];
    statusOf = new Map();
    for (let i = 0; i < 19; i++) {
      const status = STATUSES[i % STATUSES.length]!;
      const row = await svc.make.deployment(project.id, status);
      ids.push(row.id);
      statusOf.set(row.id, status);
      // Another project's deployments interleave, so the filter has something to leave out.
      if (i % 4 === 0) await svc.make.deployment(other.id, status);
    }
  });

  it('pages a project by 8 in id order, with X-Total-Count and absolute links that keep the filter', async () => {
    const res = await svc.call('get', `/deployments?projectId=${project.id}&page=2`);
    expect(res.status).toBe(200);
    expect(res.body.map((d: { id: number }) => d.id)).toEqual(ids.slice(8, 16));
    expect(res.body.every((d: { projectId: number }) => d.projectId === project.id)).toBe(true);
    expect(res.headers['x-total-count']).toBe('19');
    const link = links(res.headers.link);
    expect(Object.keys(link).sort()).toEqual(['first', 'last', 'next', 'prev', 'previous']);
    expect(res.headers.link).toContain('rel="prev previous"');
    for (const [rel, page] of [
      ['first', '1'],
      ['prev', '1'],
      ['next', '3'],
      ['last', '3'],
    ] as const) {
      expect(link[rel]!.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(link[rel]!.pathname).toBe('/deployments');
      expect(link[rel]!.searchParams.get('page')).toBe(page);
      expect(link[rel]!.searchParams.get('projectId')).toBe(String(project.id));
    }
  });

  it('defaults to page 1, which has no prev link', async () => {
    const res = await svc.call('get', `/deployments?projectId=${project.id}`);
    expect(res.body.map((d: { id: number }) => d.id)).toEqual(ids.slice(0, 8));
    const link = links(res.headers.link);
    expect(link.prev).toBeUndefined();
    expect(link.next!.searchParams.get('page')).toBe('2');
  });

  it('has no next link on the last page', async () => {
    const res = await svc.call('get', `/deployments?projectId=${project.id}&page=3`);
    expect(res.body.map((d: { id: number }) => d.id)).toEqual(ids.slice(16));
    const link = links(res.headers.link);
    expect(link.next).toBeUndefined();
    expect(link.prev!.searchParams.get('page')).toBe('2');
    expect(link.last!.searchParams.get('page')).toBe('3');
  });

  it('answers 200 [] past the end, with the total', async () => {
    const res = await svc.call('get', `/deployments?projectId=${project.id}&page=4`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
    expect(res.headers['x-total-count']).toBe('19');
    expect(links(res.headers.link).prev!.searchParams.get('page')).toBe('3');
  });

  it('shows each deployment in the contract shape', async () => {
    const res = await svc.call('get', `/deployments?projectId=${project.id}`);
    const rows = await svc.db('deployments').whereIn('id', ids.slice(0, 8)).orderBy('id');
    expect(res.body).toEqual(
      rows.map((r) => ({
        id: r.id,
        projectId: project.id,
        status: r.status,
        deployedIn: r.deployed_in,
        createdAt: r.created_at.toISOString(),
        updatedAt: r.updated_at.toISOString(),
      })),
    );
  });

  it('filters by a list of statuses, and keeps the filter in the links', async () => {
    const expected = ids.filter((id) => ['done', 'failed'].includes(statusOf.get(id)!));
    expect(expected.length).toBe(6);
    const res = await svc.call('get', `/deployments?projectId=${project.id}&status=done,failed`);
    expect(res.status).toBe(200);
    expect(res.headers['x-total-count']).toBe('6');
    expect(res.body.map((d: { id: number }) => d.id)).toEqual(expected);
    expect(res.body.every((d: { status: string }) => d.status === 'done' || d.status === 'failed')).toBe(true);
    const link = links(res.headers.link);
    expect(link.first!.searchParams.get('status')).toBe('done,failed');
    expect(link.last!.searchParams.get('status')).toBe('done,failed');
    expect(link.last!.searchParams.get('page')).toBe('1');
  });

  it('pages a status filter, keeping it in the links', async () => {
    const ongoing = ids.filter((id) => ['pending', 'building', 'deploying'].includes(statusOf.get(id)!));
    expect(ongoing.length).toBe(10);
    const res = await svc.call('get', `/deployments?status=pending,building,deploying&projectId=${project.id}&page=2`);
    expect(res.headers['x-total-count']).toBe('10');
    expect(res.body.map((d: { id: number }) => d.id)).toEqual(ongoing.slice(8));
    const link = links(res.headers.link);
    expect(link.next).toBeUndefined();
    expect(link.prev!.searchParams.get('page')).toBe('1');
    expect(link.prev!.searchParams.get('status')).toBe('pending,building,deploying');
    expect(link.prev!.searchParams.get('projectId')).toBe(String(project.id));
  });

  it('filters by one status', async () => {
    const res = await svc.call('get', `/deployments?projectId=${project.id}&status=cancelled`);
    expect(res.body.map((d: { id: number }) => d.id)).toEqual(ids.filter((id) => statusOf.get(id) === 'cancelled'));
    expect(res.headers['x-total-count']).toBe('3');
  });

  it('lists every project without a filter, in id order, with the total of the table', async () => {
    const [{ count }] = (await svc.db('deployments').count({ count: '*' })) as [{ count: number }];
    const res = await svc.call('get', '/deployments');
    expect(res.status).toBe(200);
    expect(res.headers['x-total-count']).toBe(String(count));
    const first = await svc.db('deployments').orderBy('id').limit(8).pluck('id');
    expect(res.body.map((d: { id: number }) => d.id)).toEqual(first);
  });

  it('answers 200 [] with a total of 0 for a project without deployments', async () => {
    const empty = await svc.make.project();
    const res = await svc.call('get', `/deployments?projectId=${empty.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
    expect(res.headers['x-total-count']).toBe('0');
    expect(links(res.headers.link).last!.searchParams.get('page')).toBe('1');
  });

  it.each(['live', 'done,live', 'DONE', ''])('is a 400 naming query.status for status=%p', async (status) => {
    const res = await svc.call('get', `/deployments?status=${status}`);
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('ValidationError');
    expect(res.body.issues[0].path).toMatch(/^query\.status(\.\d+)?$/);
  });

  it.each(['abc', '0', '-3', '1.5', '2147483648'])('is a 400 naming query.projectId for projectId=%p', async (projectId) => {
    const res = await svc.call('get', `/deployments?projectId=${projectId}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ name: 'ValidationError', issues: [expect.objectContaining({ path: 'query.projectId' })] });
  });

  it.each(['0', 'x', '1.5'])('is a 400 naming query.page for page=%p', async (page) => {
    const res = await svc.call('get', `/deployments?page=${page}`);
    expect(res.status).toBe(400);
    expect(res.body.issues[0].path).toBe('query.page');
  });

  it('is a 401 without the admin token', async () => {
    const res = await svc.call('get', '/deployments', { token: null });
    expect(res.status).toBe(401);
    expect(res.body.name).toBe('UnauthorizedError');
  });
});

describe('POST /deployments/:id/cancel', () => {
  it.each(['pending', 'building', 'deploying'] as const)(
    'cancels a %s deployment and writes status_changed and cancelled',
    async (from) => {
      const project = await svc.make.project();
      const before = await svc.make.deployment(project.id, from, new Date(Date.now() - 30_000));
      const res = await svc.call('post', `/deployments/${before.id}/cancel`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: before.id,
        projectId: project.id,
        status: 'cancelled',
        deployedIn: null,
        createdAt: before.created_at.toISOString(),
        updatedAt: expect.stringMatching(ISO),
      });
      expect(Date.parse(res.body.updatedAt)).toBeGreaterThan(before.updated_at.getTime());

      const row = await svc.db('deployments').where({ id: before.id }).first();
      expect(row).toMatchObject({ status: 'cancelled', deployed_in: null });
      expect(row!.updated_at.toISOString()).toBe(res.body.updatedAt);

      const common = {
        projectId: project.id,
        projectName: project.name,
        userId: project.userId,
        deploymentId: before.id,
        source: 'api',
        requestId: res.headers['x-request-id'],
      };
      const events = await eventsOf(before.id);
      expect(events.map((e) => e.name)).toEqual(['deployment.status_changed', 'deployment.cancelled']);
      expect(events[0]!.payload).toEqual({ ...common, from, to: 'cancelled', deployedIn: null });
      expect(events[1]!.payload).toEqual({ ...common, from });
      for (const e of events) {
        expect(e.event_id).toMatch(UUID);
        expect(e.occurred_at.toISOString()).toBe(res.body.updatedAt);
      }
    },
  );

  it('answers 200 unchanged for a cancelled deployment, and writes no event', async () => {
    const project = await svc.make.project();
    const before = await svc.make.deployment(project.id, 'cancelled', new Date(Date.now() - 30_000));
    const res = await svc.call('post', `/deployments/${before.id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: before.id, status: 'cancelled', updatedAt: before.updated_at.toISOString() });
    expect(await svc.db('deployments').where({ id: before.id }).first()).toEqual(before);
    expect(await eventsOf(before.id)).toEqual([]);
  });

  it('writes its events once when cancelled twice through the API', async () => {
    const project = await svc.make.project();
    const created = await svc.call('post', `/projects/${project.id}/deployment`);
    const first = await svc.call('post', `/deployments/${created.body.id}/cancel`);
    const second = await svc.call('post', `/deployments/${created.body.id}/cancel`, { body: {} });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect((await eventsOf(created.body.id)).map((e) => e.name)).toEqual([
      'deployment.created',
      'deployment.status_changed',
      'deployment.cancelled',
    ]);
  });

  it.each(['done', 'failed'] as const)('is a 400 BadRequestError for a %s deployment, which stays as it was', async (status) => {
    const project = await svc.make.project();
    const before = await svc.make.deployment(project.id, status, new Date(Date.now() - 30_000));
    const res = await svc.call('post', `/deployments/${before.id}/cancel`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      name: 'BadRequestError',
      status: 400,
      message: `Deployment ${before.id} is ${status} and can no longer be cancelled`,
    });
    expect(await svc.db('deployments').where({ id: before.id }).first()).toEqual(before);
    expect(await eventsOf(before.id)).toEqual([]);
  });

  it('is a 404 for an unknown deployment, and writes nothing', async () => {
    const before = await written();
    const res = await svc.call('post', '/deployments/2147483647/cancel');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ name: 'NotFoundError', message: 'Deployment 2147483647 not found' });
    expect(await written()).toEqual(before);
  });

  it('is a 400 for a bad id or a body with a field, and changes nothing', async () => {
    const project = await svc.make.project();
    const before = await svc.make.deployment(project.id, 'building');
    const badId = await svc.call('post', '/deployments/abc/cancel');
    expect(badId.status).toBe(400);
    expect(badId.body.issues[0].path).toBe('path.id');
    const withBody = await svc.call('post', `/deployments/${before.id}/cancel`, { body: { reason: 'because' } });
    expect(withBody.status).toBe(400);
    expect(withBody.body.name).toBe('ValidationError');
    expect(await svc.db('deployments').where({ id: before.id }).first()).toEqual(before);
    expect(await eventsOf(before.id)).toEqual([]);
  });

  it('is a 401 without the admin token, and the deployment goes on', async () => {
    const project = await svc.make.project();
    const before = await svc.make.deployment(project.id, 'deploying');
    for (const token of [null, project.secret]) {
      const res = await svc.call('post', `/deployments/${before.id}/cancel`, { token });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body.name).toBe('UnauthorizedError');
    }
    expect(await svc.db('deployments').where({ id: before.id }).first()).toEqual(before);
    expect(await eventsOf(before.id)).toEqual([]);
  });
});
