import { randomBytes, randomUUID } from 'node:crypto';
import supertest from 'supertest';
import type { EventEnvelope } from '@hosting/shared';
import { createTestDatabase, listenLocally, type TestDatabase } from '@hosting/shared/testing';
import { createAggregatorClient, type AggregatorClient } from '../src/events/aggregator-client.js';
import { createApp, factories, httpClient, logCapture, ownContract, startAggregator, type TestAggregator, testConfig } from './helpers.js';

/**
 * GET /projects/:id/activity of project-service, served from a real aggregator-service app
 * listening on a port, through the real got client; then the aggregator down, slow, failing,
 * answering nonsense, or not configured. Responses are checked against our own document,
 * strictly (the platform's contract does not have this route).
 */

const projectToken = randomBytes(24).toString('base64url');
const aggregatorToken = randomBytes(24).toString('base64url');

let projectDb: TestDatabase;
let aggregator: TestAggregator;
/** The aggregator's log lines: one per request, with the request id it was given. */
const aggregatorLogs = logCapture();
let make: ReturnType<typeof factories>;

/** A project-service app whose feed reads from `aggregatorClient` (none: not configured). */
function projectApp(aggregatorClient: AggregatorClient | undefined) {
  const { logger, lines } = logCapture();
  const app = createApp({
    db: projectDb.db,
    logger,
    config: { PROJECT_SERVICE_TOKEN: projectToken, PUBLIC_DOMAIN: 'example.app' },
    aggregator: aggregatorClient,
  });
  return { call: httpClient(app.callback(), ownContract(), projectToken), logs: lines };
}

const client = (baseUrl: string, options: { timeoutMs?: number; token?: string } = {}) =>
  createAggregatorClient({
    baseUrl,
    token: options.token ?? aggregatorToken,
    timeoutMs: options.timeoutMs ?? testConfig().AGGREGATOR_TIMEOUT_MS,
  });

beforeAll(async () => {
  [projectDb, aggregator] = await Promise.all([
    createTestDatabase('project'),
    startAggregator({ token: aggregatorToken, logger: aggregatorLogs.logger }),
  ]);
  make = factories(projectDb.db);
});

afterAll(async () => {
  await Promise.all([projectDb.drop(), aggregator.close()]);
});

/** Stores events in the aggregator through its own API, as the relay would. */
async function storeEvents(events: EventEnvelope[]): Promise<void> {
  const res = await supertest(aggregator.url).post('/events').set('Authorization', `Bearer ${aggregatorToken}`).send(events);
  expect(res.body.stored).toBe(events.length);
}

function life(project: { id: number; name: string; userId: number }, deploymentId: number): EventEnvelope[] {
  const common = { projectId: project.id, projectName: project.name, userId: project.userId, deploymentId, requestId: 'req-1' };
  const at = (second: number) => new Date(Date.UTC(2026, 10, 20, 10, 0, second)).toISOString();
  return [
    { eventId: randomUUID(), name: 'deployment.created', occurredAt: at(0), payload: { ...common, source: 'api', status: 'pending' } },
    {
      eventId: randomUUID(),
      name: 'deployment.status_changed',
      occurredAt: at(5),
      payload: { ...common, source: 'webhook', from: 'pending', to: 'building', deployedIn: null },
    },
    { eventId: randomUUID(), name: 'deployment.failed', occurredAt: at(9), payload: { ...common, source: 'webhook', from: 'building' } },
  ];
}

/** The aggregator's log lines of requests to `path` (its request log carries the id it was given). */
function aggregatorRequests(path: string): Array<{ requestId: string; status: number }> {
  return aggregatorLogs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request' && l.path === path);
}

describe('GET /projects/:id/activity, from a real aggregator', () => {
  let svc: ReturnType<typeof projectApp>;
  beforeAll(() => {
    svc = projectApp(client(aggregator.url));
  });

  it("shows the project's events newest first with their sentences, and forwards the request id", async () => {
    const project = await make.project();
    await storeEvents(life(project, 42));
    const res = await svc.call('get', `/projects/${project.id}/activity`, { headers: { 'X-Request-Id': 'panel-req-7' } });
    expect(res.status).toBe(200);
    expect(res.headers.link).toBeUndefined();
    expect(res.body).toEqual({
      data: [
        {
          id: expect.any(Number),
          name: 'deployment.failed',
          occurredAt: '2026-11-20T10:00:09.000Z',
          summary: 'Deployment #42 failed (was building)',
          payload: {
            projectId: project.id,
            projectName: project.name,
            userId: project.userId,
            deploymentId: 42,
            requestId: 'req-1',
            source: 'webhook',
            from: 'building',
          },
        },
        expect.objectContaining({ name: 'deployment.status_changed', summary: 'Deployment #42: pending → building' }),
        expect.objectContaining({ name: 'deployment.created', summary: 'Deployment #42 created', occurredAt: '2026-11-20T10:00:00.000Z' }),
      ],
      nextCursor: null,
    });
    // The aggregator saw our request id: one id across both services' logs.
    expect(aggregatorRequests(`/projects/${project.id}/activity`)).toEqual([
      expect.objectContaining({ requestId: 'panel-req-7', status: 200 }),
    ]);
  });

  it('is an empty feed for a project without events', async () => {
    const project = await make.project();
    const res = await svc.call('get', `/projects/${project.id}/activity`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [], nextCursor: null });
  });

  it('pages with a Link to this service (never the aggregator), keeping its own parameters only, every event once', async () => {
    const project = await make.project();
    const events = [...life(project, 1), ...life(project, 2)];
    await storeEvents(events);
    const seen: number[] = [];
    let url: string | undefined = `/projects/${project.id}/activity?limit=2&colour=blue`;
    let pages = 0;
    while (url) {
      const page = await svc.call('get', url);
      expect(page.status).toBe(200);
      pages++;
      seen.push(...page.body.data.map((e: { id: number }) => e.id));
      const link = page.headers.link;
      if (page.body.nextCursor) {
        expect(page.body.data).toHaveLength(2);
        expect(link).toMatch(
          new RegExp(`^<http://127\\.0\\.0\\.1:\\d+/projects/${project.id}/activity\\?limit=2&cursor=[A-Za-z0-9_-]+>; rel="next"$`),
        );
        expect(link).not.toContain(new URL(aggregator.url).host);
        url = link!.slice(link!.indexOf('/projects/'), link!.indexOf('>'));
      } else {
        expect(link).toBeUndefined();
        url = undefined;
      }
    }
    expect(pages).toBe(3);
    // The same events, in the same order (newest first, equal instants by id), as one big page.
    const all = await svc.call('get', `/projects/${project.id}/activity?limit=500`);
    expect(all.body.data).toHaveLength(events.length);
    expect(seen).toEqual(all.body.data.map((e: { id: number }) => e.id));
  });

  it('is a 404 for an unknown project, without asking the aggregator', async () => {
    const before = aggregatorLogs.lines.length;
    const res = await svc.call('get', '/projects/2147483000/activity');
    expect(res.status).toBe(404);
    expect(res.body.name).toBe('NotFoundError');
    expect(aggregatorLogs.lines.length).toBe(before);
  });

  it.each([
    ['a project id that is not a number', '/projects/abc/activity', 'path.id'],
    ['limit 0', '/projects/{id}/activity?limit=0', 'query.limit'],
    ['limit 501', '/projects/{id}/activity?limit=501', 'query.limit'],
    ['a limit that is not a number', '/projects/{id}/activity?limit=ten', 'query.limit'],
    ['two limits', '/projects/{id}/activity?limit=1&limit=2', 'query.limit'],
    ['a cursor with characters a cursor never has', '/projects/{id}/activity?cursor=a%2Fb', 'query.cursor'],
    ['a cursor too long to be one', `/projects/{id}/activity?cursor=${'A'.repeat(201)}`, 'query.cursor'],
  ])('is a 400 for %s, checked before anything is sent', async (_what, url, path) => {
    const project = await make.project();
    const before = aggregatorLogs.lines.length;
    const res = await svc.call('get', url.replace('{id}', String(project.id)));
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('ValidationError');
    expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual([path]);
    expect(aggregatorLogs.lines.length).toBe(before);
  });

  it('is a 400 naming query.cursor for a well-formed cursor the aggregator did not give out', async () => {
    const project = await make.project();
    const res = await svc.call('get', `/projects/${project.id}/activity?cursor=${Buffer.from('[1,2]').toString('base64url')}`);
    expect(res.status).toBe(400);
    expect(res.body.name).toBe('ValidationError');
    expect(res.body.issues).toEqual([{ path: 'query.cursor', message: 'is not a cursor this service gave out' }]);
  });

  it("is a 401 without the admin token, and the aggregator's token is not it", async () => {
    const project = await make.project();
    expect((await svc.call('get', `/projects/${project.id}/activity`, { token: null })).status).toBe(401);
    expect((await svc.call('get', `/projects/${project.id}/activity`, { token: aggregatorToken })).status).toBe(401);
  });
});

describe('GET /projects/:id/activity when the aggregator cannot answer: a quick 503 with Retry-After', () => {
  let projectId: number;
  beforeAll(async () => {
    projectId = (await make.project()).id;
  });

  async function expect503(svc: ReturnType<typeof projectApp>, retryAfter = '5') {
    const started = performance.now();
    const res = await svc.call('get', `/projects/${projectId}/activity`, { headers: { 'X-Request-Id': 'outage-1' } });
    const ms = performance.now() - started;
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ name: 'ServiceUnavailableError', status: 503, requestId: 'outage-1' });
    expect(res.headers['retry-after']).toBe(retryAfter);
    expect(JSON.stringify(res.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|timeout|aggregator answered/i); // nothing internal
    // Logged once, with the cause, under the request id.
    const errors = svc.logs.map((l) => JSON.parse(l)).filter((l) => l.level >= 50 && l.requestId === 'outage-1');
    expect(errors).toHaveLength(1);
    return { ms, error: errors[0] };
  }

  it('when it is down (connection refused)', async () => {
    const gone = await listenLocally(() => {});
    await gone.close(); // a port where nothing listens any more
    const { error } = await expect503(projectApp(client(gone.url)));
    expect(JSON.stringify(error.err)).toMatch(/ECONNREFUSED/);
  });

  it("when it is slow: within the feed's 2 s read timeout, not the 5 s of the relay", async () => {
    const slow = await listenLocally(() => {}); // accepts, reads, never answers
    let requests = 0;
    slow.server.on('request', () => requests++);
    try {
      const feed = client(slow.url); // AGGREGATOR_TIMEOUT_MS left at its default, 5 s
      expect(feed.readTimeoutMs).toBe(2_000);
      const { ms, error } = await expect503(projectApp(feed));
      // Which timer fired is in the error (a busy machine can only make the answer later, not earlier).
      expect(ms).toBeGreaterThanOrEqual(1_900);
      expect(JSON.stringify(error.err)).toMatch(/timeout.*\b2000 ?ms/i);
      expect(requests).toBe(1); // no retry: a person is waiting
    } finally {
      await slow.close();
    }
  });

  it('when its client is configured with a shorter timeout than 2 s, that one', async () => {
    const slow = await listenLocally(() => {});
    try {
      const { ms, error } = await expect503(projectApp(client(slow.url, { timeoutMs: 300 })));
      expect(ms).toBeGreaterThanOrEqual(280);
      expect(JSON.stringify(error.err)).toMatch(/timeout.*\b300 ?ms/i);
    } finally {
      await slow.close();
    }
  });

  it.each([
    ['a 500', 500, '{"name":"InternalServerError"}'],
    ['a 503', 503, '{"name":"ServiceUnavailableError"}'],
    ['a 502 from a proxy, in HTML', 502, '<html>Bad Gateway</html>'],
    ['a 200 that is not JSON', 200, 'ok'],
    ['a 200 of another shape', 200, '{"events":[]}'],
    ['a 200 with an item of another shape', 200, '{"data":[{"id":"1"}],"nextCursor":null}'],
  ])('when it answers %s', async (_what, status, body) => {
    const odd = await listenLocally((_req, res) => {
      res.writeHead(status, { 'content-type': body.startsWith('<') ? 'text/html' : 'application/json' }).end(body);
    });
    try {
      await expect503(projectApp(client(odd.url)));
    } finally {
      await odd.close();
    }
  });

  it("when it refuses our token (a misconfiguration is ours to report, not the admin's 401)", async () => {
    await expect503(projectApp(client(aggregator.url, { token: 'not-the-aggregator-token' })));
  });

  it('when no aggregator is configured', async () => {
    const { error } = await expect503(projectApp(undefined), '60');
    expect(error.err.message).toMatch(/no aggregator configured/);
  });

  it('still 404s an unknown project first', async () => {
    const res = await projectApp(undefined).call('get', '/projects/2147483000/activity');
    expect(res.status).toBe(404);
  });
});

describe("the aggregator client's feed call", () => {
  it('passes limit and cursor through, and the request id', async () => {
    const seen: Array<{ url?: string; requestId?: string | string[]; auth?: string }> = [];
    const fake = await listenLocally((req, res) => {
      seen.push({ url: req.url, requestId: req.headers['x-request-id'], auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[],"nextCursor":null}');
    });
    try {
      const feed = client(fake.url);
      expect(await feed.projectActivity(7, { limit: 3, cursor: 'abc_-1' }, 'rid-1')).toEqual({ data: [], nextCursor: null });
      await feed.projectActivity(8, {}, 'rid-2');
      expect(seen).toEqual([
        { url: '/projects/7/activity?limit=3&cursor=abc_-1', requestId: 'rid-1', auth: `Bearer ${aggregatorToken}` },
        { url: '/projects/8/activity', requestId: 'rid-2', auth: `Bearer ${aggregatorToken}` },
      ]);
    } finally {
      await fake.close();
    }
  });

  it('makes one attempt only (no retries) when the aggregator fails', async () => {
    let calls = 0;
    const failing = await listenLocally((_req, res) => {
      calls++;
      res.writeHead(503, { 'content-type': 'application/json' }).end('{}');
    });
    try {
      await expect(client(failing.url).projectActivity(1, {}, 'rid')).rejects.toMatchObject({ name: 'AggregatorError', status: 503 });
      expect(calls).toBe(1);
    } finally {
      await failing.close();
    }
  });
});
