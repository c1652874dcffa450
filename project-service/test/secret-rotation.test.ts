import { createLogger, eventEnvelopeSchema, sha256 } from '@hosting/shared';
import { createAggregatorClient } from '../src/events/aggregator-client.js';
import { createOutboxRelay } from '../src/events/outbox-relay.js';
import { createOutboxRepo } from '../src/events/outbox.repo.js';
import { startAggregator, testConfig, testService, type TestAggregator, type TestService } from './helpers.js';

/**
 * `POST /projects/:id/secret`: a new app secret, shown once; the old one stops working at once;
 * a `project.secret_rotated` event that carries neither the secret nor its digest, all the way
 * into the aggregator's store.
 */
let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Every way the secret could be written down: in clear, and its digest as hex and base64. */
function forms(secret: string): string[] {
  const digest = sha256(secret);
  return [secret, digest.toString('hex'), digest.toString('base64'), digest.toString('base64url')];
}

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

async function rotatedEvents(projectId: number) {
  const { rows } = await svc.db.raw<{
    rows: Array<{ event_id: string; name: string; payload: Record<string, unknown>; occurred_at: Date; payload_text: string }>;
  }>(
    `select event_id, name, payload, occurred_at, payload::text as payload_text from outbox
     where name = 'project.secret_rotated' and payload->>'projectId' = ? order by id`,
    [String(projectId)],
  );
  return rows;
}

describe('POST /projects/:id/secret', () => {
  it('answers a new secret once, not cacheable, and only the new secret works on the webhook', async () => {
    const project = await svc.make.project();
    const deployment = await svc.call('post', `/projects/${project.id}/deployment`);

    const res = await svc.call('post', `/projects/${project.id}/secret`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      projectId: project.id,
      appSecret: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
      rotatedAt: expect.stringMatching(ISO),
    });
    const secret: string = res.body.appSecret;
    expect(secret).not.toBe(project.secret);
    expect(occurrences(res.text, secret)).toBe(1);
    expect(Math.abs(Date.parse(res.body.rotatedAt) - Date.now())).toBeLessThan(60_000);

    const row = await svc.db('projects').where({ id: project.id }).first('app_secret_sha256');
    expect(row!.app_secret_sha256.equals(sha256(secret))).toBe(true);

    const old = await svc.call('post', '/deployment/webhook', {
      token: project.secret,
      body: { id: deployment.body.id, status: 'building' },
    });
    expect(old.status).toBe(401);
    expect(old.body.name).toBe('UnauthorizedError');
    const fresh = await svc.call('post', '/deployment/webhook', { token: secret, body: { id: deployment.body.id, status: 'building' } });
    expect(fresh.status).toBe(200);
    expect(fresh.body).toMatchObject({ id: deployment.body.id, status: 'building' });
  });

  it('writes one project.secret_rotated event without the secret or its digest', async () => {
    const project = await svc.make.project();
    const res = await svc.call('post', `/projects/${project.id}/secret`, { body: {} });
    expect(res.status).toBe(200);

    const events = await rotatedEvents(project.id);
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event.payload).toEqual({
      projectId: project.id,
      projectName: project.name,
      userId: project.userId,
      source: 'api',
      requestId: res.headers['x-request-id'],
      rotatedAt: res.body.rotatedAt,
    });
    expect(event.occurred_at.toISOString()).toBe(res.body.rotatedAt);
    for (const form of [...forms(res.body.appSecret), ...forms(project.secret)]) expect(event.payload_text).not.toContain(form);
    const parsed = eventEnvelopeSchema.safeParse({
      eventId: event.event_id,
      name: event.name,
      occurredAt: event.occurred_at.toISOString(),
      payload: event.payload,
    });
    expect(parsed.error?.issues ?? []).toEqual([]);
    // The catalogue admits nothing more in this payload: a secret slipped in would be refused by the store.
    const leaky = eventEnvelopeSchema.safeParse({
      eventId: event.event_id,
      name: event.name,
      occurredAt: event.occurred_at.toISOString(),
      payload: { ...event.payload, appSecret: 'x' },
    });
    expect(leaky.success).toBe(false);
  });

  it('keeps the secret out of the log', async () => {
    const project = await svc.make.project();
    const res = await svc.call('post', `/projects/${project.id}/secret`);
    expect(res.status).toBe(200);
    const log = svc.logs.join('\n');
    for (const form of forms(res.body.appSecret)) expect(log).not.toContain(form);
  });

  it('replaces the secret each time: the one before stops working too', async () => {
    const project = await svc.make.project();
    const deployment = await svc.call('post', `/projects/${project.id}/deployment`);
    const first = await svc.call('post', `/projects/${project.id}/secret`);
    const second = await svc.call('post', `/projects/${project.id}/secret`);
    expect(second.body.appSecret).not.toBe(first.body.appSecret);
    expect(
      (await svc.call('post', '/deployment/webhook', { token: first.body.appSecret, body: { id: deployment.body.id, status: 'building' } }))
        .status,
    ).toBe(401);
    expect(
      (
        await svc.call('post', '/deployment/webhook', {
          token: second.body.appSecret,
          body: { id: deployment.body.id, status: 'building' },
        })
      ).status,
    ).toBe(200);
    expect(await rotatedEvents(project.id)).toHaveLength(2);
  });

  it('is a 404 for an unknown project, and changes nothing', async () => {
    const before = await svc.db('outbox').count<Array<{ n: number }>>({ n: '*' });
    const res = await svc.call('post', '/projects/2147483000/secret');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ name: 'NotFoundError', message: 'Project 2147483000 not found' });
    expect(res.headers['cache-control']).not.toBe('no-store');
    const after = await svc.db('outbox').count<Array<{ n: number }>>({ n: '*' });
    expect(Number(after[0]!.n)).toBe(Number(before[0]!.n));
  });

  it('refuses a body field, a bad id and a missing token, and keeps the old secret', async () => {
    const project = await svc.make.project();
    const withField = await svc.call('post', `/projects/${project.id}/secret`, { body: { appSecret: 'mine-mine-mine-mine-mine' } });
    expect(withField.status).toBe(400);
    expect(withField.body.issues).toEqual([{ path: 'body.appSecret', message: 'is not a field of this request' }]);
    expect((await svc.call('post', '/projects/abc/secret')).status).toBe(400);
    const anonymous = await svc.call('post', `/projects/${project.id}/secret`, { token: null });
    expect(anonymous.status).toBe(401);
    const row = await svc.db('projects').where({ id: project.id }).first('app_secret_sha256');
    expect(row!.app_secret_sha256.equals(sha256(project.secret))).toBe(true);
    expect(await rotatedEvents(project.id)).toHaveLength(0);
  });
});

/**
 * The event through the real relay into a real aggregator-service app, which stores it (it
 * validates with the same catalogue) without the secret.
 */
describe('project.secret_rotated in the event store', () => {
  let aggregator: TestAggregator;

  beforeAll(async () => {
    aggregator = await startAggregator();
  });
  afterAll(() => aggregator.close());

  it('is delivered and stored, with nothing of the secret', async () => {
    const project = await svc.make.project();
    const res = await svc.call('post', `/projects/${project.id}/secret`);
    const [event] = await rotatedEvents(project.id);

    const config = testConfig({
      PROJECT_DATABASE_URL: svc.database.url,
      AGGREGATOR_URL: aggregator.url,
      AGGREGATOR_SERVICE_TOKEN: aggregator.token,
      OUTBOX_POLL_MS: 20,
    });
    const relay = createOutboxRelay({
      outbox: createOutboxRepo(svc.db),
      client: createAggregatorClient({
        baseUrl: config.AGGREGATOR_URL,
        token: config.AGGREGATOR_SERVICE_TOKEN,
        timeoutMs: config.AGGREGATOR_TIMEOUT_MS,
      }),
      logger: createLogger({ level: 'silent' }),
      config,
    });
    relay.start();
    try {
      const deadline = Date.now() + 10_000;
      while (!(await svc.db('outbox').where({ event_id: event!.event_id }).first('delivered_at'))?.delivered_at) {
        if (Date.now() > deadline) throw new Error('the event was not delivered within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await relay.stop();
    }

    const { rows } = await aggregator.database.db.raw<{
      rows: Array<{ name: string; project_id: number; deployment_id: number | null; text: string }>;
    }>(`select e.name, e.project_id, e.deployment_id, row_to_json(e)::text as text from events e where e.event_id = ?`, [event!.event_id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'project.secret_rotated', project_id: project.id, deployment_id: null });
    for (const form of [...forms(res.body.appSecret), ...forms(project.secret)]) expect(rows[0]!.text).not.toContain(form);
  });
});
