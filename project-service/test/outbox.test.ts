import { eventEnvelopeSchema } from '@hosting/shared';
import { testService, type TestService } from './helpers.js';

let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

const count = async (table: 'deployments' | 'outbox') => (await svc.db(table).count<{ count: number }[]>('* as count'))[0]!.count;

describe('the outbox and its change commit or roll back together', () => {
  // A trigger that fails after the event row was written: the statement that wrote the change
  // and the event must leave neither behind.
  beforeAll(() =>
    svc.db.raw(`
      create function fail_after_event() returns trigger language plpgsql as $$
      begin raise exception 'injected failure after the event was written'; end $$;
      create trigger fail_after_event after insert on outbox for each row
        when (current_setting('test.fail_events', true) = 'on') execute function fail_after_event();
      alter database ${svc.database.name} set test.fail_events = 'on';`),
  );
  afterAll(() => svc.db.raw(`alter database ${svc.database.name} reset test.fail_events`));

  it('creating a deployment: a 500, and neither the deployment nor its event', async () => {
    await svc.db.destroy(); // new connections pick up the database setting
    svc.db.initialize();
    const project = await svc.make.project();
    const before = { deployments: await count('deployments'), outbox: await count('outbox') };
    const res = await svc.call('post', `/projects/${project.id}/deployment`);
    expect(res.status).toBe(500);
    expect(res.body.message).not.toMatch(/injected|trigger|insert/i);
    expect({ deployments: await count('deployments'), outbox: await count('outbox') }).toEqual(before);
  });

  it('a webhook transition: a 500, and the deployment unchanged with no event', async () => {
    const project = await svc.make.project();
    const deployment = await svc.make.deployment(project.id, 'building');
    const before = await count('outbox');
    const res = await svc.call('post', '/deployment/webhook', { token: project.secret, body: { id: deployment.id, status: 'done' } });
    expect(res.status).toBe(500);
    expect((await svc.db('deployments').where({ id: deployment.id }).first())!.status).toBe('building');
    expect((await svc.db('projects').where({ id: project.id }).first())!.url).toBeNull();
    expect(await count('outbox')).toBe(before);
  });
});

describe('events written by the actions', () => {
  it('every outbox row is a valid envelope of the shared catalogue', async () => {
    await svc.db.raw(`alter database ${svc.database.name} reset test.fail_events`);
    await svc.db.destroy();
    svc.db.initialize();
    const project = await svc.make.project();
    const created = await svc.call('post', `/projects/${project.id}/deployment`);
    for (const status of ['building', 'deploying', 'done']) {
      await svc.call('post', '/deployment/webhook', { token: project.secret, body: { id: created.body.id, status } });
    }
    const other = await svc.call('post', `/projects/${project.id}/deployment`);
    await svc.call('post', `/deployments/${other.body.id}/cancel`);

    const rows = await svc
      .db('outbox')
      .whereRaw(`payload->>'projectId' = ?`, [String(project.id)])
      .orderBy('id');
    expect(rows.map((r) => r.name)).toEqual([
      'deployment.created',
      'deployment.status_changed',
      'deployment.status_changed',
      'deployment.status_changed',
      'deployment.succeeded',
      'project.url_assigned',
      'deployment.created',
      'deployment.status_changed',
      'deployment.cancelled',
    ]);
    for (const row of rows) {
      const parsed = eventEnvelopeSchema.safeParse({
        eventId: row.event_id,
        name: row.name,
        occurredAt: row.occurred_at.toISOString(),
        payload: row.payload,
      });
      expect(parsed.error?.issues ?? []).toEqual([]);
    }
    expect(rows[0]!.payload).toMatchObject({
      projectId: project.id,
      projectName: project.name,
      userId: project.userId,
      deploymentId: created.body.id,
      source: 'api',
      requestId: created.headers['x-request-id'],
    });
    expect(rows[3]!.payload).toMatchObject({ from: 'deploying', to: 'done', source: 'webhook' });
    expect(rows[4]!.payload.deployedIn).toEqual(expect.any(Number));
  });

  it('GET /outbox/status shows the backlog and the age of the oldest undelivered event', async () => {
    await svc
      .db('outbox')
      .update({ occurred_at: svc.db.raw(`now() - interval '90 seconds'`), attempts: 3, last_error: 'aggregator answered 503' });
    const res = await svc.call('get', '/outbox/status');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ undelivered: await count('outbox'), maxAttempts: 3, lastError: 'aggregator answered 503' });
    expect(res.body.oldestUndeliveredAgeSeconds).toBeGreaterThanOrEqual(89);
    expect((await svc.call('get', '/outbox/status', { token: null })).status).toBe(401);
  });
});
