import { randomUUID } from 'node:crypto';
import { createDeploymentsRepo } from '../src/features/deployments/deployments.repo.js';
import { createDeploymentsService } from '../src/features/deployments/deployments.service.js';
import { requestFingerprint } from '../src/features/deployments/idempotency.js';
import { testService, type TestService } from './helpers.js';

/**
 * `Idempotency-Key` on `POST /projects/:id/deployment` (and its alias), over HTTP on a real
 * database: replays answer the first answer and create nothing, also when they race; another
 * request with the key is a 422; keys expire after 24 hours; only creations are remembered.
 */
let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

const key = () => `key-${randomUUID()}`;
const post = (projectId: number | string, idempotencyKey: string | undefined, options: { alias?: boolean; body?: unknown } = {}) =>
  svc.call('post', `/projects/${projectId}/${options.alias ? 'deployments' : 'deployment'}`, {
    headers: idempotencyKey === undefined ? {} : { 'Idempotency-Key': idempotencyKey },
    ...(options.body === undefined ? {} : { body: options.body }),
  });

/** What a project has: its deployments and their outbox events. */
async function writtenFor(projectId: number): Promise<{ deployments: number; events: number }> {
  const [d] = await svc.db('deployments').where({ project_id: projectId }).count<Array<{ n: number }>>({ n: '*' });
  const [e] = await svc
    .db('outbox')
    .whereRaw(`payload->>'projectId' = ?`, [String(projectId)])
    .count<Array<{ n: number }>>({ n: '*' });
  return { deployments: Number(d!.n), events: Number(e!.n) };
}

async function storedKey(k: string) {
  return svc.db
    .raw<{ rows: Array<{ scope: string; created_at: Date; resource: { id: number } }> }>(
      'select scope, created_at, resource from idempotency_keys where key = ?',
      [k],
    )
    .then((r) => r.rows);
}

/** Ages a key by `hours` (the database decides expiry by its own clock). */
async function age(k: string, hours: number): Promise<void> {
  await svc.db.raw(`update idempotency_keys set created_at = created_at - make_interval(hours => ?) where key = ?`, [hours, k]);
}

describe('the same key with the same request', () => {
  it('answers the first 201 again, marked as a replay, and creates nothing more', async () => {
    const project = await svc.make.project();
    const k = key();
    const first = await post(project.id, k);
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(await writtenFor(project.id)).toEqual({ deployments: 1, events: 1 });

    const again = await post(project.id, k, { body: {} });
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.text).toBe(first.text);
    expect(again.headers.location).toBe(first.headers.location);
    expect(await writtenFor(project.id)).toEqual({ deployments: 1, events: 1 });
    expect(await storedKey(k)).toEqual([
      { scope: 'service', created_at: expect.any(Date), resource: expect.objectContaining({ id: first.body.id }) },
    ]);
  });

  it('answers the first answer, not the deployment as it is now', async () => {
    const project = await svc.make.project();
    const k = key();
    const first = await post(project.id, k);
    await svc.call('post', '/deployment/webhook', { token: project.secret, body: { id: first.body.id, status: 'done' } });
    const again = await post(project.id, k);
    expect(again.body).toEqual(first.body);
    expect(again.body.status).toBe('pending');
    expect((await svc.call('get', `/deployments/${first.body.id}`)).body.status).toBe('done');
  });

  it('is the same request on the /deployments alias', async () => {
    const project = await svc.make.project();
    const k = key();
    const first = await post(project.id, k, { alias: true });
    expect(first.status).toBe(201);
    const viaOther = await post(project.id, k);
    const viaAlias = await post(project.id, k, { alias: true });
    for (const res of [viaOther, viaAlias]) {
      expect(res.status).toBe(201);
      expect(res.headers['idempotent-replayed']).toBe('true');
      expect(res.body).toEqual(first.body);
    }
    expect(await writtenFor(project.id)).toEqual({ deployments: 1, events: 1 });
  });

  it('creates one deployment for 10 racing requests, and all get the same 201', async () => {
    const project = await svc.make.project();
    const k = key();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(project.id, k, { alias: i % 2 === 1 })));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(new Set(answers.map((a) => a.headers.location)).size).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
    expect(await writtenFor(project.id)).toEqual({ deployments: 1, events: 1 });
  });

  it('leaves requests without a key as they were: each creates, and no key is stored', async () => {
    const project = await svc.make.project();
    const [a, b] = [await post(project.id, undefined), await post(project.id, undefined)];
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).not.toBe(b.body.id);
    expect(a.headers['idempotent-replayed']).toBeUndefined();
    const { rows } = await svc.db.raw(`select 1 from idempotency_keys where resource->>'id' in (?, ?)`, [
      String(a.body.id),
      String(b.body.id),
    ]);
    expect(rows).toHaveLength(0);
  });

  it('gives different keys different deployments', async () => {
    const project = await svc.make.project();
    const [a, b] = await Promise.all([post(project.id, key()), post(project.id, key())]);
    expect(a.body.id).not.toBe(b.body.id);
    expect(await writtenFor(project.id)).toEqual({ deployments: 2, events: 2 });
  });
});

describe('the same key with a different request', () => {
  it('is a 422 naming the reuse, and creates nothing', async () => {
    const [one, two] = [await svc.make.project(), await svc.make.project()];
    const k = key();
    expect((await post(one.id, k)).status).toBe(201);
    const other = await post(two.id, k);
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ name: 'IdempotencyKeyReusedError', status: 422 });
    expect(other.body.message).toContain('Idempotency-Key');
    expect(other.headers['idempotent-replayed']).toBeUndefined();
    expect(await writtenFor(two.id)).toEqual({ deployments: 0, events: 0 });
    expect(await writtenFor(one.id)).toEqual({ deployments: 1, events: 1 });
  });

  it('is a 422 for an unknown project too: a used key answers for itself', async () => {
    const project = await svc.make.project();
    const k = key();
    await post(project.id, k);
    const res = await post(2147483000, k);
    expect(res.status).toBe(422);
    expect(res.body.name).toBe('IdempotencyKeyReusedError');
  });

  it('refuses a body field with a 400 before looking at the key, and keeps the key as it was', async () => {
    const project = await svc.make.project();
    const k = key();
    const first = await post(project.id, k);
    const withField = await post(project.id, k, { body: { force: true } });
    expect(withField.status).toBe(400);
    expect(withField.body.issues).toEqual([{ path: 'body.force', message: 'is not a field of this request' }]);
    const again = await post(project.id, k);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
  });
});

describe('what is not remembered', () => {
  it('a 404: the same key then creates', async () => {
    const project = await svc.make.project();
    const k = key();
    const missing = await post(2147483000, k);
    expect(missing.status).toBe(404);
    expect(missing.body.name).toBe('NotFoundError');
    expect(await storedKey(k)).toEqual([]);
    const created = await post(project.id, k);
    expect(created.status).toBe(201);
    expect(created.headers['idempotent-replayed']).toBeUndefined();
  });

  it('a 400: the same key then creates', async () => {
    const project = await svc.make.project();
    const k = key();
    expect((await post(project.id, k, { body: { x: 1 } })).status).toBe(400);
    expect(await storedKey(k)).toEqual([]);
    const created = await post(project.id, k);
    expect(created.status).toBe(201);
    expect(created.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('expiry after 24 hours', () => {
  it('a key older than 24 hours counts as absent: the request creates again and the key points at the new deployment', async () => {
    const project = await svc.make.project();
    const k = key();
    const first = await post(project.id, k);
    await age(k, 23);
    expect((await post(project.id, k)).headers['idempotent-replayed']).toBe('true');
    await age(k, 1);
    const later = await post(project.id, k);
    expect(later.status).toBe(201);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(later.body.id).not.toBe(first.body.id);
    expect(await writtenFor(project.id)).toEqual({ deployments: 2, events: 2 });
    const replay = await post(project.id, k);
    expect(replay.body).toEqual(later.body);
    expect(await storedKey(k)).toHaveLength(1);
  });

  it('an expired key may serve another request', async () => {
    const [one, two] = [await svc.make.project(), await svc.make.project()];
    const k = key();
    await post(one.id, k);
    await age(k, 25);
    const res = await post(two.id, k);
    expect(res.status).toBe(201);
    expect(res.body.projectId).toBe(two.id);
  });

  it('racing requests on an expired key still create exactly one deployment', async () => {
    const project = await svc.make.project();
    const k = key();
    await post(project.id, k);
    await age(k, 25);
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(project.id, k)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(201));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(await writtenFor(project.id)).toEqual({ deployments: 2, events: 2 });
  });

  it('keyed creations purge expired keys as they go, and leave live ones', async () => {
    const project = await svc.make.project();
    const stale = Array.from({ length: 5 }, key);
    for (const k of stale) await post(project.id, k);
    const live = key();
    await post(project.id, live);
    for (const k of stale) await age(k, 30);
    await post(project.id, key());
    for (const k of stale) expect(await storedKey(k)).toEqual([]);
    expect(await storedKey(live)).toHaveLength(1);
  });

  it("the TTL is the service's to set", async () => {
    const service = createDeploymentsService({
      deployments: createDeploymentsRepo(svc.db),
      publicDomain: 'example.app',
      idempotencyTtlSeconds: 3600,
    });
    const project = await svc.make.project();
    const request = { scope: 'service', key: key(), fingerprint: requestFingerprint('POST /projects/:id/deployment', project.id, {}) };
    const cause = { source: 'api', requestId: null } as const;
    const first = await service.createIdempotent(project.id, cause, request);
    await age(request.key, 2);
    const second = await service.createIdempotent(project.id, cause, request);
    expect(second.replayed).toBe(false);
    expect(second.deployment.id).not.toBe(first.deployment.id);
  });
});

describe('scopes', () => {
  it("two callers' equal keys never meet", async () => {
    const service = createDeploymentsService({ deployments: createDeploymentsRepo(svc.db), publicDomain: 'example.app' });
    const [one, two] = [await svc.make.project(), await svc.make.project()];
    const k = key();
    const cause = { source: 'api', requestId: null } as const;
    const a = await service.createIdempotent(one.id, cause, { scope: 'user:1', key: k, fingerprint: requestFingerprint('op', one.id, {}) });
    const b = await service.createIdempotent(two.id, cause, { scope: 'user:2', key: k, fingerprint: requestFingerprint('op', two.id, {}) });
    expect([a.replayed, b.replayed]).toEqual([false, false]);
    expect(b.deployment.project_id).toBe(two.id);
    expect((await storedKey(k)).map((r) => r.scope).sort()).toEqual(['user:1', 'user:2']);
  });
});

describe('the Idempotency-Key header', () => {
  it.each([
    ['empty', ''],
    ['longer than 255 characters', 'k'.repeat(256)],
    ['with a tab', 'a\tb'],
    ['not ASCII', 'clé'],
  ])('is a 400 naming it when %s, and creates nothing', async (_what, value) => {
    const project = await svc.make.project();
    const res = await post(project.id, value);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ name: 'ValidationError' });
    expect(res.body.issues).toEqual([{ path: 'header.Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters' }]);
    expect(await writtenFor(project.id)).toEqual({ deployments: 0, events: 0 });
  });

  it('takes 255 printable ASCII characters, spaces and symbols included', async () => {
    const project = await svc.make.project();
    const k = `${' !"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'}${randomUUID()}`.padEnd(255, 'x');
    const first = await post(project.id, k);
    expect(first.status).toBe(201);
    expect((await post(project.id, k)).headers['idempotent-replayed']).toBe('true');
  });
});
