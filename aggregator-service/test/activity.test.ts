import { randomUUID } from 'node:crypto';
import type { EventEnvelope } from '@hosting/shared';
import { countQueries } from '@hosting/shared/testing';
import { deploymentCreated, testService, uniqueId, type TestService } from './helpers.js';

/** GET /projects/:id/activity: a project's events newest first, with sentences, paged like GET /events. */
let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

/** `2026-03-01T12:00:00.<micros>Z`: instants a JS Date cannot tell apart. */
const at = (micros: number) => `2026-03-01T12:00:00.${String(micros).padStart(6, '0')}Z`;

/** One deployment's life as project-service writes it: created, building, deploying, done, the URL. */
function lifeOf(projectId: number, deploymentId: number, start: number): EventEnvelope[] {
  const common = { projectId, projectName: 'shop', userId: 1, deploymentId, requestId: 'req-1' };
  const event = (name: string, second: number, payload: Record<string, unknown>): EventEnvelope => ({
    eventId: randomUUID(),
    name,
    occurredAt: new Date(Date.UTC(2026, 10, 20, 10, 0, start + second)).toISOString(),
    payload: { ...common, ...payload },
  });
  return [
    event('deployment.created', 0, { source: 'api', status: 'pending' }),
    event('deployment.status_changed', 5, { source: 'webhook', from: 'pending', to: 'building', deployedIn: null }),
    event('deployment.status_changed', 20, { source: 'webhook', from: 'building', to: 'deploying', deployedIn: null }),
    event('deployment.status_changed', 37, { source: 'webhook', from: 'deploying', to: 'done', deployedIn: 37 }),
    event('deployment.succeeded', 37, { source: 'webhook', deployedIn: 37 }),
    event('project.url_assigned', 37, { source: 'webhook', url: 'https://shop-3f9a1c0b2e.hosting.localhost' }),
  ];
}

async function store(events: EventEnvelope[]): Promise<void> {
  const res = await svc.call('post', '/events', { body: events });
  expect(res.body.stored).toBe(events.length);
}

describe('GET /projects/:id/activity', () => {
  it("shows the project's events newest first with their sentences, and nothing of other projects", async () => {
    const projectId = uniqueId();
    const deploymentId = uniqueId();
    const cancelled = uniqueId();
    const failed = uniqueId();
    const common = { projectId, projectName: 'shop', userId: 1, requestId: null };
    await store([
      ...lifeOf(projectId, deploymentId, 0),
      {
        eventId: randomUUID(),
        name: 'deployment.cancelled',
        occurredAt: '2026-11-20T11:00:00Z',
        payload: { ...common, deploymentId: cancelled, source: 'api', from: 'pending' },
      },
      {
        eventId: randomUUID(),
        name: 'deployment.failed',
        occurredAt: '2026-11-20T12:00:00Z',
        payload: { ...common, deploymentId: failed, source: 'webhook', from: 'building' },
      },
      {
        eventId: randomUUID(),
        name: 'build.log_uploaded',
        occurredAt: '2026-11-20T13:00:00Z',
        payload: { projectId, deploymentId: failed, size: 3 },
      },
      ...lifeOf(uniqueId(), uniqueId(), 0),
    ]);

    const res = await svc.call('get', `/projects/${projectId}/activity`);
    expect(res.status).toBe(200);
    expect(res.headers.link).toBeUndefined();
    expect(res.body.nextCursor).toBeNull();
    expect(res.body.data.map((e: { summary: string }) => e.summary)).toEqual([
      `Event build.log_uploaded on deployment #${failed}`,
      `Deployment #${failed} failed (was building)`,
      `Deployment #${cancelled} cancelled (was pending) via API`,
      // Three events at 10:00:37, newest id first.
      'Project got its URL https://shop-3f9a1c0b2e.hosting.localhost',
      `Deployment #${deploymentId} finished in 37 s`,
      `Deployment #${deploymentId}: deploying → done`,
      `Deployment #${deploymentId}: building → deploying`,
      `Deployment #${deploymentId}: pending → building`,
      `Deployment #${deploymentId} created`,
    ]);
    const [newest] = res.body.data;
    expect(newest).toEqual({
      id: expect.any(Number),
      name: 'build.log_uploaded',
      occurredAt: '2026-11-20T13:00:00.000Z',
      summary: `Event build.log_uploaded on deployment #${failed}`,
      payload: { projectId, deploymentId: failed, size: 3 },
    });
    // The ids are the store's: GET /events/{id} finds the same event.
    const same = await svc.call('get', `/events/${newest.id}`);
    expect(same.body).toMatchObject({ name: newest.name, occurredAt: newest.occurredAt, payload: newest.payload });
  });

  it('pages with a cursor and a Link, every event exactly once, through equal and microsecond-apart instants', async () => {
    const projectId = uniqueId();
    const batch = Array.from({ length: 23 }, (_, i) => deploymentCreated({ projectId }, { occurredAt: at((i * 5) % 8) }));
    await store(batch);
    const expected = batch
      .map((e, index) => ({ e, index }))
      .sort((x, y) => y.e.occurredAt.localeCompare(x.e.occurredAt) || y.index - x.index)
      .map(({ e }) => e.payload.deploymentId);

    const seen: unknown[] = [];
    let url: string | undefined = `/projects/${projectId}/activity?limit=5`;
    let pages = 0;
    while (url) {
      const page = await svc.call('get', url);
      expect(page.status).toBe(200);
      pages++;
      seen.push(...page.body.data.map((e: { payload: { deploymentId: number } }) => e.payload.deploymentId));
      if (page.body.nextCursor) {
        expect(page.body.data).toHaveLength(5);
        const link = page.headers.link!;
        expect(link).toMatch(
          new RegExp(`^<http://127\\.0\\.0\\.1:\\d+/projects/${projectId}/activity\\?limit=5&cursor=[A-Za-z0-9_-]+>; rel="next"$`),
        );
        expect(link).toContain(`cursor=${page.body.nextCursor}>`);
        url = link.slice(link.indexOf('/projects/'), link.indexOf('>'));
      } else {
        expect(page.headers.link).toBeUndefined();
        url = undefined;
      }
    }
    expect(pages).toBe(5);
    expect(seen).toEqual(expected);
  });

  it('takes the cursors of GET /events?projectId= and gives the same pages (one cursor, one query code)', async () => {
    const projectId = uniqueId();
    await store(Array.from({ length: 7 }, (_, i) => deploymentCreated({ projectId }, { occurredAt: at(i % 3) })));
    const events = await svc.call('get', `/events?projectId=${projectId}&limit=3`);
    const activity = await svc.call('get', `/projects/${projectId}/activity?limit=3`);
    expect(activity.body.nextCursor).toBe(events.body.nextCursor);
    const next = await svc.call('get', `/projects/${projectId}/activity?limit=3&cursor=${events.body.nextCursor}`);
    const nextEvents = await svc.call('get', `/events?projectId=${projectId}&limit=3&cursor=${events.body.nextCursor}`);
    expect(next.body.data.map((e: { id: number }) => e.id)).toEqual(nextEvents.body.data.map((e: { id: number }) => e.id));
  });

  it('answers a page in one query', async () => {
    const projectId = uniqueId();
    await store(lifeOf(projectId, uniqueId(), 0));
    const { result, queries } = await countQueries(svc.db, () => svc.call('get', `/projects/${projectId}/activity?limit=2`));
    expect(result.body.data).toHaveLength(2);
    expect(queries).toHaveLength(1);
  });

  it('is an empty page for a project it has no event of (it does not know projects)', async () => {
    const res = await svc.call('get', `/projects/${uniqueId()}/activity`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], nextCursor: null });
  });

  describe('limit', () => {
    const projectId = uniqueId();
    beforeAll(() => store(Array.from({ length: 51 }, () => deploymentCreated({ projectId }))));

    it('defaults to 50', async () => {
      const res = await svc.call('get', `/projects/${projectId}/activity`);
      expect(res.body.data).toHaveLength(50);
      expect(res.body.nextCursor).toEqual(expect.any(String));
    });

    it('takes 1 and 500', async () => {
      expect((await svc.call('get', `/projects/${projectId}/activity?limit=1`)).body.data).toHaveLength(1);
      const all = await svc.call('get', `/projects/${projectId}/activity?limit=500`);
      expect(all.body.data).toHaveLength(51);
      expect(all.body.nextCursor).toBeNull();
    });
  });

  it.each([
    ['a project id that is not a number', '/projects/abc/activity', 'path.id'],
    ['project id 0', '/projects/0/activity', 'path.id'],
    ['a project id beyond integer', '/projects/2147483648/activity', 'path.id'],
    ['limit 0', '/projects/1/activity?limit=0', 'query.limit'],
    ['limit 501', '/projects/1/activity?limit=501', 'query.limit'],
    ['a limit that is not a number', '/projects/1/activity?limit=ten', 'query.limit'],
    ['a cursor it did not give out', `/projects/1/activity?cursor=${Buffer.from('[1,2]').toString('base64url')}`, 'query.cursor'],
    ['a cursor that is not base64url', '/projects/1/activity?cursor=%21%21', 'query.cursor'],
    ['two limits', '/projects/1/activity?limit=1&limit=2', 'query.limit'],
  ])('is a 400 for %s', async (_what, url, path) => {
    const res = await svc.call('get', url);
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('ValidationError');
    expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual([path]);
  });

  it('is a 401 without the aggregator token, or with another', async () => {
    for (const token of [null, 'not-the-token-at-all']) {
      const res = await svc.call('get', '/projects/1/activity', { token });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });
});
