import { randomBytes, randomUUID } from 'node:crypto';
import { countQueries } from '@hosting/shared/testing';
import { deploymentCreated, testService, uniqueId, type TestService } from './helpers.js';

let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The stored rows of these event ids, in id order. */
async function rowsOf(eventIds: string[]) {
  return svc.db('events').whereIn('event_id', eventIds).orderBy('id').select('*');
}

describe('POST /events', () => {
  it('stores one event and copies its references out of the payload', async () => {
    const event = deploymentCreated({ projectId: 7, deploymentId: 70, userId: 700 }, { occurredAt: '2026-11-20T10:00:00.123+01:00' });
    const res = await svc.call('post', '/events', { body: event });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ stored: 1, duplicates: 0, results: [{ eventId: event.eventId, status: 'stored' }] });

    const rows = await rowsOf([event.eventId]);
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row).toMatchObject({
      event_id: event.eventId,
      name: 'deployment.created',
      payload: event.payload,
      project_id: 7,
      deployment_id: 70,
      user_id: 700,
    });
    expect(row.occurred_at.toISOString()).toBe('2026-11-20T09:00:00.123Z');
    expect(Math.abs(row.created_at.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('answers duplicates per event, inside a batch and against earlier requests, and keeps the first copy', async () => {
    const a = deploymentCreated();
    const b = deploymentCreated();
    const c = deploymentCreated();
    const aAgain = { ...a, payload: { ...a.payload, projectName: 'second copy' } };

    const first = await svc.call('post', '/events', { body: [a, b, aAgain] });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      stored: 2,
      duplicates: 1,
      results: [
        { eventId: a.eventId, status: 'stored' },
        { eventId: b.eventId, status: 'stored' },
        { eventId: a.eventId, status: 'duplicate' },
      ],
    });

    // The same id in upper case is the same uuid.
    const second = await svc.call('post', '/events', { body: [{ ...b, eventId: b.eventId.toUpperCase() }, c, a] });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({
      stored: 1,
      duplicates: 2,
      results: [
        { eventId: b.eventId.toUpperCase(), status: 'duplicate' },
        { eventId: c.eventId, status: 'stored' },
        { eventId: a.eventId, status: 'duplicate' },
      ],
    });

    const rows = await rowsOf([a.eventId, b.eventId, c.eventId]);
    expect(rows.map((r) => r.event_id)).toEqual([a.eventId, b.eventId, c.eventId]);
    expect(rows[0]!.payload.projectName).toBe('shop');
  });

  it('stores a racing retry exactly once', async () => {
    const event = deploymentCreated();
    const [x, y] = await Promise.all([svc.call('post', '/events', { body: [event] }), svc.call('post', '/events', { body: [event] })]);
    expect([x.body.results[0].status, y.body.results[0].status].sort()).toEqual(['duplicate', 'stored']);
    expect(await rowsOf([event.eventId])).toHaveLength(1);
  });

  it('stores a batch in one statement and keeps request order in ids', async () => {
    const batch = Array.from({ length: 500 }, () => deploymentCreated());
    const { result, queries } = await countQueries(svc.db, () => svc.call('post', '/events', { body: batch }));
    expect(result.status).toBe(200);
    expect(result.body.stored).toBe(500);
    expect(queries).toHaveLength(1);
    const rows = await rowsOf(batch.map((e) => e.eventId));
    expect(rows.map((r) => r.event_id)).toEqual(batch.map((e) => e.eventId));
  });

  it('refuses the whole batch when event 3 of 5 is invalid, naming index and field', async () => {
    const batch = Array.from({ length: 5 }, () => deploymentCreated());
    batch[3] = { ...batch[3]!, payload: { ...batch[3]!.payload, projectId: 'seven' } };
    const res = await svc.call('post', '/events', { body: batch });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ name: 'ValidationError', status: 400 });
    expect(res.body.issues).toEqual([{ path: 'body[3].payload.projectId', message: expect.any(String) }]);
    expect(res.body.message).toContain('body[3].payload.projectId');
    expect(await rowsOf(batch.map((e) => e.eventId))).toEqual([]);
  });

  it('names every invalid field of every event', async () => {
    const batch = [deploymentCreated(), { ...deploymentCreated(), eventId: 'nope', extra: 1 }, { ...deploymentCreated(), name: 'Deploy' }];
    const res = await svc.call('post', '/events', { body: batch });
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { path: string }) => i.path).sort()).toEqual(['body[1]', 'body[1].eventId', 'body[2].name']);
  });

  it('names fields of a single event without an index', async () => {
    const event = deploymentCreated({}, { occurredAt: '2026-02-30T10:00:00Z' });
    const res = await svc.call('post', '/events', { body: event });
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path: 'body.occurredAt', message: expect.any(String) }]);
  });

  it.each([
    ['a reference beyond integer', { payload: { projectId: 2_147_483_648 } }, 'body[0].payload.projectId'],
    ['a NUL character', { payload: { projectName: 'a\u0000b' } }, 'body[0].payload'],
    ['an unpaired surrogate', { payload: { projectName: 'a\ud800b' } }, 'body[0].payload'],
    ['year 0000', { occurredAt: '0000-06-01T00:00:00Z' }, 'body[0].occurredAt'],
  ])('refuses with 400, not a database error, %s', async (_what, overrides, path) => {
    const event = deploymentCreated({}, overrides);
    const res = await svc.call('post', '/events', { body: [event] });
    expect(res.status).toBe(400);
    expect(res.body.issues).toEqual([{ path, message: expect.any(String) }]);
    expect(await rowsOf([event.eventId])).toEqual([]);
  });

  it('accepts unknown event names of the right form with a generic payload', async () => {
    const bare = { eventId: randomUUID(), name: 'build.log_line', occurredAt: '2026-11-20T10:00:00Z', payload: { line: 'npm ci', n: 3 } };
    const withRefs = {
      eventId: randomUUID(),
      name: 'billing.invoice.paid',
      occurredAt: '2026-11-20T10:00:00Z',
      payload: { projectId: 42, userId: 9, amount: 12.5 },
    };
    const res = await svc.call('post', '/events', { body: [bare, withRefs] });
    expect(res.status).toBe(200);
    expect(res.body.stored).toBe(2);
    const rows = await rowsOf([bare.eventId, withRefs.eventId]);
    expect(rows.map((r) => [r.name, r.payload, r.project_id, r.deployment_id, r.user_id])).toEqual([
      ['build.log_line', bare.payload, null, null, null],
      ['billing.invoice.paid', withRefs.payload, 42, null, 9],
    ]);
  });

  it('still checks the references of an unknown event and the form of its name', async () => {
    const badRef = { eventId: randomUUID(), name: 'build.started', occurredAt: '2026-11-20T10:00:00Z', payload: { deploymentId: -1 } };
    const badName = { eventId: randomUUID(), name: 'BuildStarted', occurredAt: '2026-11-20T10:00:00Z', payload: {} };
    const res = await svc.call('post', '/events', { body: [badRef, badName] });
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual(['body[0].payload.deploymentId', 'body[1].name']);
  });

  it('is a 413 for 501 events, and stores none', async () => {
    const batch = Array.from({ length: 501 }, () => deploymentCreated());
    const res = await svc.call('post', '/events', { body: batch });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ name: 'PayloadTooLargeError', status: 413, message: expect.stringContaining('500') });
    expect(await rowsOf(batch.map((e) => e.eventId))).toEqual([]);
  });

  it('is a 413 for an event over 32 kB, and stores none of the batch', async () => {
    const small = deploymentCreated();
    const big = deploymentCreated({}, { payload: { blob: 'x'.repeat(32 * 1024) } });
    const res = await svc.call('post', '/events', { body: [small, big] });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ name: 'PayloadTooLargeError', message: expect.stringContaining('body[1]') });
    expect(await rowsOf([small.eventId, big.eventId])).toEqual([]);
  });

  it('accepts an event of just under 32 kB', async () => {
    const event = deploymentCreated({}, { payload: { blob: '' } });
    const room = 32 * 1024 - Buffer.byteLength(JSON.stringify(event));
    event.payload.blob = 'x'.repeat(room);
    const res = await svc.call('post', '/events', { body: event });
    expect(res.status).toBe(200);
    expect(res.body.stored).toBe(1);
  });

  it('is a 413 from the body parser for a body over 1 MB', async () => {
    const batch = Array.from({ length: 40 }, () => deploymentCreated({}, { payload: { blob: 'x'.repeat(30_000) } }));
    const res = await svc.call('post', '/events', { body: batch });
    expect(res.status).toBe(413);
    expect(res.body.name).toBe('PayloadTooLargeError');
    expect(await rowsOf(batch.map((e) => e.eventId))).toEqual([]);
  });

  it.each([
    ['no body', undefined, 400, 'ValidationError'],
    ['an empty array', '[]', 400, 'ValidationError'],
    ['malformed JSON', '{"eventId":', 400, 'BadRequestError'],
    ['a JSON string', '"event"', 400, undefined],
  ])('refuses %s', async (_what, raw, status, name) => {
    const res = await svc.call('post', '/events', raw === undefined ? {} : { raw });
    expect(res.status).toBe(status);
    if (name) expect(res.body.name).toBe(name);
  });

  it('is a 415 for a body that is not JSON', async () => {
    const res = await svc.call('post', '/events', { raw: 'eventId=1', headers: { 'Content-Type': 'text/plain' } });
    expect(res.status).toBe(415);
    expect(res.body.name).toBe('UnsupportedMediaTypeError');
  });
});

describe('authentication', () => {
  it.each([
    ['post', '/events'],
    ['get', '/events'],
    ['get', '/events/1'],
  ] as const)('%s %s is a 401 with WWW-Authenticate without the token', async (method, url) => {
    const event = deploymentCreated();
    for (const token of [null, randomBytes(24).toString('base64url'), '', `${svc.token}x`, 'x'.repeat(10_240)]) {
      const res = await svc.call(method, url, { token, body: method === 'post' ? event : undefined });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body.name).toBe('UnauthorizedError');
    }
    expect(await rowsOf([event.eventId])).toEqual([]);
  });
});

describe('GET /events', () => {
  /** `2026-03-01T12:00:00.<micros>Z`: times a JS Date cannot tell apart. */
  const at = (micros: number) => `2026-03-01T12:00:00.${String(micros).padStart(6, '0')}Z`;

  it('pages newest first with a cursor, every event exactly once, through equal and microsecond-apart times', async () => {
    const projectId = uniqueId();
    // 23 events over 8 instants, 1 µs apart, several sharing an instant; sent in a shuffled order.
    const batch = Array.from({ length: 23 }, (_, i) => deploymentCreated({ projectId }, { occurredAt: at((i * 5) % 8) }));
    const res = await svc.call('post', '/events', { body: batch });
    expect(res.body.stored).toBe(23);
    // Newest first by occurrence; equal instants by id, which follows request order.
    const expected = batch
      .map((e, index) => ({ e, index }))
      .sort((x, y) => y.e.occurredAt.localeCompare(x.e.occurredAt) || y.index - x.index)
      .map(({ e }) => e.eventId);

    const seen: string[] = [];
    let url: string | undefined = `/events?projectId=${projectId}&limit=5`;
    let pages = 0;
    while (url) {
      const page = await svc.call('get', url);
      expect(page.status).toBe(200);
      pages++;
      seen.push(...page.body.data.map((e: { eventId: string }) => e.eventId));
      if (page.body.nextCursor) {
        expect(page.body.data).toHaveLength(5);
        const link = page.headers.link!;
        expect(link).toMatch(/^<http:\/\/127\.0\.0\.1:\d+\/events\?projectId=\d+&limit=5&cursor=[A-Za-z0-9_-]+>; rel="next"$/);
        expect(link).toContain(`cursor=${page.body.nextCursor}>`);
        url = `/events?projectId=${projectId}&limit=5&cursor=${page.body.nextCursor}`;
      } else {
        expect(page.headers.link).toBeUndefined();
        url = undefined;
      }
    }
    expect(pages).toBe(5);
    expect(seen).toEqual(expected);
  });

  it('shows events in the response shape, and answers in one query', async () => {
    const projectId = uniqueId();
    const event = deploymentCreated({ projectId, deploymentId: 5, userId: 6 }, { occurredAt: '2026-05-01T08:30:00.250Z' });
    await svc.call('post', '/events', { body: event });
    const { result, queries } = await countQueries(svc.db, () => svc.call('get', `/events?projectId=${projectId}`));
    expect(queries).toHaveLength(1);
    expect(result.body).toEqual({
      data: [
        {
          id: expect.any(Number),
          eventId: event.eventId,
          name: 'deployment.created',
          occurredAt: '2026-05-01T08:30:00.250Z',
          createdAt: expect.stringMatching(ISO_MS),
          projectId,
          deploymentId: 5,
          userId: 6,
          payload: event.payload,
        },
      ],
      nextCursor: null,
    });
  });

  describe('filters', () => {
    const projectId = uniqueId();
    const otherProject = uniqueId();
    const deploymentId = uniqueId();
    const userId = uniqueId();
    const events = [
      deploymentCreated({ projectId, deploymentId, userId }, { occurredAt: '2026-04-01T00:00:00Z' }),
      deploymentCreated({ projectId, userId }, { occurredAt: '2026-04-02T00:00:00Z' }),
      deploymentCreated(
        { projectId },
        { occurredAt: '2026-04-03T00:00:00Z', name: 'deployment.succeeded', payload: { deployedIn: 30, status: undefined } },
      ),
      deploymentCreated({ projectId: otherProject, deploymentId, userId }, { occurredAt: '2026-04-04T00:00:00Z' }),
    ];
    const ids = (...indexes: number[]) => indexes.map((i) => events[i]!.eventId);

    beforeAll(async () => {
      const body = events.map((e) => ({ ...e, payload: JSON.parse(JSON.stringify(e.payload)) }));
      const res = await svc.call('post', '/events', { body });
      expect(res.body.stored).toBe(4);
    });

    const list = async (query: string) => {
      const res = await svc.call('get', `/events?${query}`);
      expect(res.status).toBe(200);
      return res.body.data.map((e: { eventId: string }) => e.eventId);
    };

    it('by projectId', async () => expect(await list(`projectId=${projectId}`)).toEqual(ids(2, 1, 0)));
    it('by deploymentId', async () => expect(await list(`deploymentId=${deploymentId}`)).toEqual(ids(3, 0)));
    it('by userId', async () => expect(await list(`userId=${userId}`)).toEqual(ids(3, 1, 0)));
    it('by name', async () => expect(await list(`name=deployment.succeeded&projectId=${projectId}`)).toEqual(ids(2)));
    it('by from (inclusive)', async () => expect(await list(`userId=${userId}&from=2026-04-02T00:00:00Z`)).toEqual(ids(3, 1)));
    it('by to (exclusive)', async () => expect(await list(`userId=${userId}&to=2026-04-04T00:00:00Z`)).toEqual(ids(1, 0)));
    it('by a from with an offset', async () =>
      expect(await list(`projectId=${projectId}&from=${encodeURIComponent('2026-04-02T01:00:00+02:00')}`)).toEqual(ids(2, 1)));
    it('combined', async () =>
      expect(await list(`projectId=${projectId}&userId=${userId}&from=2026-04-01T12:00:00Z&to=2026-04-05T00:00:00Z`)).toEqual(ids(1)));
    it('ignoring unknown parameters', async () => expect(await list(`projectId=${projectId}&colour=blue`)).toEqual(ids(2, 1, 0)));
    it('finding nothing', async () => expect(await list(`projectId=${uniqueId()}`)).toEqual([]));
  });

  describe('limit', () => {
    const projectId = uniqueId();
    beforeAll(async () => {
      await svc.call('post', '/events', { body: Array.from({ length: 60 }, () => deploymentCreated({ projectId })) });
    });

    it('defaults to 50', async () => {
      const res = await svc.call('get', `/events?projectId=${projectId}`);
      expect(res.body.data).toHaveLength(50);
      expect(res.body.nextCursor).toEqual(expect.any(String));
      const rest = await svc.call('get', `/events?projectId=${projectId}&cursor=${res.body.nextCursor}`);
      expect(rest.body.data).toHaveLength(10);
      expect(rest.body.nextCursor).toBeNull();
    });

    it('takes 1 and 500', async () => {
      expect((await svc.call('get', `/events?projectId=${projectId}&limit=1`)).body.data).toHaveLength(1);
      const all = await svc.call('get', `/events?projectId=${projectId}&limit=500`);
      expect(all.body.data).toHaveLength(60);
      expect(all.body.nextCursor).toBeNull();
    });

    it('has no next page when the last page is exactly full', async () => {
      const res = await svc.call('get', `/events?projectId=${projectId}&limit=60`);
      expect(res.body.data).toHaveLength(60);
      expect(res.body.nextCursor).toBeNull();
      expect(res.headers.link).toBeUndefined();
    });

    it.each(['0', '501', '-1', '1.5', 'abc', '', '10&limit=20'])('is a 400 naming query.limit for %p', async (limit) => {
      const res = await svc.call('get', `/events?limit=${limit}`);
      expect(res.status).toBe(400);
      expect(res.body.name).toBe('ValidationError');
      expect(res.body.issues[0].path).toBe('query.limit');
    });
  });

  it.each([
    ['projectId', 'abc'],
    ['projectId', '0'],
    ['deploymentId', '2147483648'],
    ['userId', '-3'],
    ['from', 'yesterday'],
    ['to', '2026-02-30T00:00:00Z'],
    ['from', '2026-01-01T00:00:00'],
    ['cursor', 'not-a-cursor'],
    ['cursor', Buffer.from(JSON.stringify(['2026-02-30T00:00:00.000000Z', 1])).toString('base64url')],
    ['cursor', Buffer.from(JSON.stringify(['2026-01-01T00:00:00.000000Z', -1])).toString('base64url')],
    ['name', ''],
  ])('is a 400 naming query.%s for %p', async (field, value) => {
    const res = await svc.call('get', `/events?${field}=${value}`);
    expect(res.status).toBe(400);
    expect(res.body.issues.map((i: { path: string }) => i.path)).toEqual([`query.${field}`]);
  });
});

describe('GET /events/:id', () => {
  it('shows one event', async () => {
    const event = deploymentCreated({ projectId: 11, deploymentId: 12, userId: 13 }, { occurredAt: '2026-06-01T00:00:00Z' });
    await svc.call('post', '/events', { body: event });
    const row = (await rowsOf([event.eventId]))[0]!;
    const res = await svc.call('get', `/events/${row.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: row.id,
      eventId: event.eventId,
      name: 'deployment.created',
      occurredAt: '2026-06-01T00:00:00.000Z',
      createdAt: row.created_at.toISOString(),
      projectId: 11,
      deploymentId: 12,
      userId: 13,
      payload: event.payload,
    });
  });

  it('is a 404 for an id not stored', async () => {
    const res = await svc.call('get', '/events/9007199254740991');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ name: 'NotFoundError', message: 'Event 9007199254740991 not found' });
  });

  it.each(['0', '-1', 'abc', '1.5', '9007199254740993', randomUUID()])('is a 400 naming path.id for %p', async (id) => {
    const res = await svc.call('get', `/events/${id}`);
    expect(res.status).toBe(400);
    expect(res.body.issues[0].path).toBe('path.id');
  });
});

describe('routing', () => {
  it('answers unknown routes and methods in the error shape', async () => {
    expect((await svc.call('get', '/nope')).status).toBe(404);
    const res = await svc.call('delete', '/events');
    expect(res.status).toBe(405);
    expect(res.body.name).toBe('MethodNotAllowedError');
  });
});
