import supertest from 'supertest';
import { createLifecycle, createLogger } from '@hosting/shared';
import { countQueries, createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { createApp, factories } from './helpers.js';

/** Health, readiness, metrics, CORS and the busy-projects listing: what an operator uses. */
const token = 'admin-token-0123456789';
const metricsToken = 'metrics-token-0123456789';
let database: TestDatabase;
const lifecycle = createLifecycle();
let http: ReturnType<typeof supertest>;

beforeAll(async () => {
  database = await createTestDatabase('project');
  const app = createApp({
    db: database.db,
    logger: createLogger({ level: 'silent' }),
    lifecycle,
    config: {
      PROJECT_SERVICE_TOKEN: token,
      PUBLIC_DOMAIN: 'example.app',
      CORS_ORIGINS: 'https://admin.example.com, http://localhost:5173',
      METRICS_TOKEN: metricsToken,
      ONGOING_DEPLOYMENTS_THRESHOLD: 3,
    },
  });
  http = supertest(app.callback());
});
afterAll(() => database.drop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const metric = (text: string, line: RegExp) => {
  const found = text.split('\n').find((l) => line.test(l));
  return found === undefined ? undefined : Number(found.split(' ').at(-1));
};

describe('health and readiness', () => {
  it('GET /healthz answers without a token or a database query', async () => {
    const res = await http.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz is 200 while the database answers, 503 while shutting down', async () => {
    expect((await http.get('/readyz')).body).toEqual({ status: 'ready' });
    lifecycle.shuttingDown = true;
    try {
      const res = await http.get('/readyz');
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.body).toMatchObject({ name: 'ServiceUnavailableError', message: 'Shutting down' });
    } finally {
      lifecycle.shuttingDown = false;
    }
  });

  it('GET /readyz answers a burst from one shared probe: at most one database round trip in flight, its result reused for about a second', async () => {
    await sleep(1_100); // past the reuse of an earlier test's probe
    let inFlight = 0;
    let mostInFlight = 0;
    const sent = () => (mostInFlight = Math.max(mostInFlight, ++inFlight));
    const done = () => inFlight--;
    database.db.on('query', sent).on('query-response', done).on('query-error', done);
    const started = Date.now();
    let burst: number[];
    let queries: string[];
    try {
      ({ result: burst, queries } = await countQueries(database.db, () =>
        Promise.all(Array.from({ length: 200 }, () => http.get('/readyz').then((r) => r.status))),
      ));
    } finally {
      database.db.off('query', sent).off('query-response', done).off('query-error', done);
    }
    const seconds = (Date.now() - started) / 1000;
    expect(new Set(burst)).toEqual(new Set([200]));
    expect(mostInFlight).toBe(1);
    // One round trip per second of burst at most (on an idle machine the burst takes well under one).
    expect(queries.length).toBeLessThanOrEqual(Math.floor(seconds) + 1);
    expect(new Set(queries)).toEqual(new Set(['select 1']));
    const { queries: again } = await countQueries(database.db, () => http.get('/readyz'));
    expect(again.length).toBeLessThanOrEqual(1);
  });

  it('GET /readyz is 503 within about a second when the database does not answer', async () => {
    await sleep(1_100); // a probe's result is reused for about a second: this one must be new
    const lock = await database.db.transaction();
    try {
      // Exhaust what readiness needs: hold every pooled connection busy behind a lock.
      await lock.raw('lock table projects in access exclusive mode');
      const blockers = Array.from({ length: 9 }, () => database.db.raw('select count(*) from projects').catch(() => undefined));
      // Answered while the lock is still held (it is released below): the probe's own timeout ended the wait.
      const res = await http.get('/readyz');
      expect(res.status).toBe(503);
      await lock.rollback();
      await Promise.all(blockers);
    } finally {
      if (!lock.isCompleted()) await lock.rollback();
    }
  });
});

describe('GET /metrics', () => {
  it('needs the service token or the metrics token', async () => {
    expect((await http.get('/metrics')).status).toBe(401);
    expect((await http.get('/metrics').set('Authorization', 'Bearer nope-nope-nope-nope')).status).toBe(401);
    expect((await http.get('/metrics').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    expect((await http.get('/metrics').set('Authorization', `Bearer ${metricsToken}`)).status).toBe(200);
  });

  it('counts requests by route template and status, webhook outcomes, and reads the outbox and busy projects', async () => {
    const make = factories(database.db);
    const project = await make.project();
    const ongoing = [];
    for (let i = 0; i < 4; i++) ongoing.push(await make.deployment(project.id, 'building'));
    await http.get(`/projects/${project.id}`).set('Authorization', `Bearer ${token}`);
    await http
      .post('/deployment/webhook')
      .set('Authorization', `Bearer ${project.secret}`)
      .send({ id: ongoing[0]!.id, status: 'deploying' });
    await http
      .post('/deployment/webhook')
      .set('Authorization', `Bearer ${project.secret}`)
      .send({ id: ongoing[0]!.id, status: 'deploying' });
    await http.post('/deployment/webhook').set('Authorization', `Bearer ${project.secret}`).send({ id: ongoing[0]!.id, status: 'pending' });
    await http.post('/deployment/webhook').set('Authorization', 'Bearer wrong-secret').send({ id: ongoing[0]!.id, status: 'done' });
    const done = await make.deployment(project.id, 'done');
    const late = await http
      .post('/deployment/webhook')
      .set('Authorization', `Bearer ${project.secret}`)
      .send({ id: done.id, status: 'building' });
    const contradiction = await http
      .post('/deployment/webhook')
      .set('Authorization', `Bearer ${project.secret}`)
      .send({ id: done.id, status: 'failed' });
    expect([late.status, late.headers['x-webhook-outcome'], contradiction.status]).toEqual([200, 'stale', 409]);

    const text = (await http.get('/metrics').set('Authorization', `Bearer ${metricsToken}`)).text;
    expect(metric(text, /^http_request_duration_seconds_count\{.*route="\/projects\/:id".*status="200".*\}/)).toBeGreaterThanOrEqual(1);
    expect(text).not.toMatch(new RegExp(`route="/projects/${project.id}"`)); // templates, never raw paths
    // The labels are the X-Webhook-Outcome header's words, plus conflict (409) and rejected.
    expect(metric(text, /^webhook_outcomes_total\{outcome="apply"/)).toBe(1);
    expect(metric(text, /^webhook_outcomes_total\{outcome="same"/)).toBe(1);
    expect(metric(text, /^webhook_outcomes_total\{outcome="stale"/)).toBe(2);
    expect(metric(text, /^webhook_outcomes_total\{outcome="conflict"/)).toBe(1);
    expect(metric(text, /^webhook_outcomes_total\{outcome="rejected"/)).toBe(1);
    expect(metric(text, /^outbox_backlog_events\{/)).toBe(1); // the one applied transition's status_changed (no relay runs here)
    expect(metric(text, /^outbox_oldest_undelivered_age_seconds\{/)).toBeGreaterThanOrEqual(0);
    expect(metric(text, /^projects_over_ongoing_threshold\{/)).toBe(1);
    expect(metric(text, /^service_ready\{/)).toBe(1);
    expect(text).toMatch(/^process_cpu_user_seconds_total\{service="project-service"\}/m);
  });
});

describe('request metrics by route', () => {
  it('labels the operational routes and 405s by their route; only paths nothing knows are unmatched', async () => {
    // A fresh app: its own registry, so every count below is this test's.
    const app = createApp({
      db: database.db,
      logger: createLogger({ level: 'silent' }),
      config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app' },
    });
    const own = supertest(app.callback());
    const statuses = [
      (await own.get('/healthz')).status,
      (await own.get('/readyz')).status,
      (await own.get('/openapi.json')).status,
      (await own.get('/docs')).status,
      (await own.get('/docs/assets/init.js')).status,
      (await own.get('/docs/assets/swagger-ui.css')).status,
      (await own.get('/metrics')).status,
      (await own.get('/metrics').set('Authorization', `Bearer ${token}`)).status,
      (await own.delete('/projects/1').set('Authorization', `Bearer ${token}`)).status,
      (await own.put('/deployment/webhook')).status,
      (await own.get('/no-such-route')).status,
      (await own.get('/projects/1/nothing')).status,
    ];
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 401, 200, 405, 405, 404, 404]);
    const text = (await own.get('/metrics').set('Authorization', `Bearer ${token}`)).text;
    const count = (method: string, route: string, status: number) =>
      metric(
        text,
        new RegExp(
          `^http_request_duration_seconds_count\\{(?=.*method="${method}")(?=.*route="${route.replace(/[.*]/g, '\\$&')}")(?=.*status="${status}")`,
        ),
      );
    expect({
      healthz: count('GET', '/healthz', 200),
      readyz: count('GET', '/readyz', 200),
      openapi: count('GET', '/openapi.json', 200),
      docs: count('GET', '/docs', 200),
      assets: count('GET', '/docs/assets/:file', 200),
      metrics401: count('GET', '/metrics', 401),
      metrics200: count('GET', '/metrics', 200),
      projects405: count('DELETE', '/projects/:id', 405),
      webhook405: count('PUT', '/deployment/webhook', 405),
      unmatched: count('GET', 'unmatched', 404),
    }).toEqual({
      healthz: 1,
      readyz: 1,
      openapi: 1,
      docs: 1,
      assets: 2,
      metrics401: 1,
      metrics200: 1,
      projects405: 1,
      webhook405: 1,
      unmatched: 2,
    });
    const unmatched = text
      .split('\n')
      .filter((l) => l.startsWith('http_request_duration_seconds_count{') && l.includes('route="unmatched"'));
    expect(unmatched.filter((l) => !l.includes('status="404"'))).toEqual([]);
  });
});

describe('GET /ops/busy-projects', () => {
  it('lists projects over the threshold, busiest first, for the admin only', async () => {
    const make = factories(database.db);
    const calm = await make.project();
    await make.deployment(calm.id, 'pending');
    const busy = await make.project();
    for (const status of ['pending', 'building', 'deploying', 'pending', 'building'] as const) await make.deployment(busy.id, status);
    const res = await http.get('/ops/busy-projects').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body[0]).toEqual({ projectId: busy.id, projectName: busy.name, userId: busy.userId, ongoing: 5 });
    expect(res.body.map((p: { projectId: number }) => p.projectId)).not.toContain(calm.id);
    const lower = await http.get('/ops/busy-projects?threshold=1').set('Authorization', `Bearer ${token}`);
    expect(lower.body.length).toBeGreaterThan(res.body.length - 1);
    expect((await http.get('/ops/busy-projects?threshold=0').set('Authorization', `Bearer ${token}`)).status).toBe(400);
    expect((await http.get('/ops/busy-projects')).status).toBe(401);
  });
});

describe('CORS', () => {
  it('answers a listed origin, preflight included, and ignores others', async () => {
    const listed = await http.get('/projects').set('Origin', 'https://admin.example.com').set('Authorization', `Bearer ${token}`);
    expect(listed.headers['access-control-allow-origin']).toBe('https://admin.example.com');
    expect(listed.headers['access-control-expose-headers']).toContain('Link');
    const preflight = await http
      .options('/projects/1/deployment')
      .set('Origin', 'http://localhost:5173')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization');
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-headers']).toContain('Authorization');
    const other = await http.get('/projects').set('Origin', 'https://evil.example').set('Authorization', `Bearer ${token}`);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
