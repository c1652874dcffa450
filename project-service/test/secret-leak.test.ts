import { createHash, randomBytes } from 'node:crypto';
import {
  attackOperations,
  createTestDatabase,
  listenLocally,
  runAttack,
  sendRaw,
  type AttackOperation,
  type AttackResponse,
  type TestDatabase,
} from '@hosting/shared/testing';
import { createProjectService, type ProjectService } from '../src/compose.js';
import { openapiDocument } from '../src/openapi/document.js';
import { factories, logCapture, projectContract, startAggregator, testConfig, type TestAggregator } from './helpers.js';

/**
 * Secrets (issue 6): the service tokens, the metrics tokens and every app secret (seeded, and one
 * issued by rotation) appear in no response (headers and body), no log line of either service
 * (nor of the relay or the stream hub), no outbox payload and no event the aggregator stored; nor
 * does the SHA-256 of any of them. Both services run in-process on real sockets, the relay
 * delivering to the real aggregator. Every documented operation of both is called with good and
 * bad requests (no credential, a wrong one, another service's, bad ids and bodies, the webhook
 * with wrong and rotated-away secrets), then a short attack run adds generated ones.
 */
const secret = () => randomBytes(24).toString('base64url');
const projectToken = secret();
const aggregatorToken = secret();
const projectMetricsToken = secret();
const aggregatorMetricsToken = secret();

/** A secret and the forms of it that must not appear either. */
function needles(value: string): string[] {
  const digest = createHash('sha256').update(value, 'utf8').digest();
  return [value, digest.toString('hex'), digest.toString('base64'), digest.toString('base64url')];
}

/** Where each secret was found: `[secret label, haystack label]`. */
function findLeaks(secrets: Record<string, string>, haystacks: Array<[string, string]>): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  for (const [label, value] of Object.entries(secrets)) {
    const forms = needles(value);
    for (const [where, text] of haystacks) if (forms.some((f) => text.includes(f))) found.push([label, where]);
  }
  return found;
}

let projectDb: TestDatabase;
let aggregator: TestAggregator;
let service: ProjectService;
const servers: Array<{ close(): Promise<void> }> = [];
const projectLogs = logCapture();
const aggregatorLogs = logCapture();

afterAll(async () => {
  await service?.stop();
  for (const server of servers) await server.close();
  await Promise.all([projectDb?.drop(), aggregator?.close()]);
});

it('no secret, nor its digest, is in any response, log line, outbox payload or stored event', async () => {
  [projectDb, aggregator] = await Promise.all([
    createTestDatabase('project'),
    startAggregator({
      token: aggregatorToken,
      logger: aggregatorLogs.logger,
      config: { METRICS_TOKEN: aggregatorMetricsToken, RATE_LIMIT_AUTH_FAILURES: 1_000_000 },
    }),
  ]);
  // The aggregator's operations, from the document it serves.
  const aggregatorDocument = (await sendRaw(aggregator.url, { method: 'GET', path: '/openapi.json', headers: [] })).body as Record<
    string,
    any
  >;
  // The whole service as main.ts builds it (compose.ts): relay and stream hub started, the relay
  // delivering to the aggregator above.
  service = createProjectService(
    testConfig({
      PROJECT_SERVICE_TOKEN: projectToken,
      PROJECT_DATABASE_URL: projectDb.url,
      AGGREGATOR_URL: aggregator.url,
      AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
      METRICS_TOKEN: projectMetricsToken,
      RATE_LIMIT_AUTH_FAILURES: 1_000_000,
      OUTBOX_POLL_MS: 50,
    }),
    { db: projectDb.db, logger: projectLogs.logger },
  );
  await service.start();
  const project = await listenLocally(service.app.callback());
  servers.push(project);

  const make = factories(projectDb.db);
  const owner = await make.user();
  const p1 = await make.project({ userId: owner.id });
  const p2 = await make.project({ userId: owner.id });
  const secrets: Record<string, string> = {
    PROJECT_SERVICE_TOKEN: projectToken,
    AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
    'project METRICS_TOKEN': projectMetricsToken,
    'aggregator METRICS_TOKEN': aggregatorMetricsToken,
    'app secret of project 1': p1.secret,
    'app secret of project 2': p2.secret,
  };

  /** Every response, with what may legitimately show a secret removed (the rotation's answer shows its new one). */
  const responses: Array<[string, string]> = [];
  const record = (label: string, res: AttackResponse, shown?: string) => {
    const text = shown ? res.text.split(shown).join('<the secret this answer issues>') : res.text;
    responses.push([`${label} → ${res.status}`, `${JSON.stringify(res.headers)}\n${text}`]);
  };
  const call = async (
    base: string,
    method: string,
    path: string,
    options: { auth?: string | null; body?: string; headers?: Array<[string, string]> } = {},
  ) => {
    const headers: Array<[string, string]> = [...(options.headers ?? [])];
    if (options.auth) headers.push(['Authorization', `Bearer ${options.auth}`]);
    if (options.body !== undefined) headers.push(['Content-Type', 'application/json']);
    const res = await sendRaw(base, { method, path, headers, ...(options.body !== undefined ? { body: Buffer.from(options.body) } : {}) });
    record(`${method} ${base === project.url ? 'project' : 'aggregator'}${path}`, res);
    return res;
  };

  // The life of a deployment, so that every kind of event is written and delivered.
  const created = await call(project.url, 'POST', `/projects/${p1.id}/deployments`, { auth: projectToken, body: '{}' });
  expect(created.status).toBe(201);
  const deploymentId = (created.body as { id: number }).id;
  for (const status of ['building', 'deploying', 'done']) {
    expect(
      (await call(project.url, 'POST', '/deployment/webhook', { auth: p1.secret, body: JSON.stringify({ id: deploymentId, status }) }))
        .status,
    ).toBe(200);
  }
  const second = await call(project.url, 'POST', `/projects/${p2.id}/deployment`, {
    auth: projectToken,
    headers: [['Idempotency-Key', 'leak-test-1']],
  });
  const secondId = (second.body as { id: number }).id;
  await call(project.url, 'POST', `/deployments/${secondId}/cancel`, { auth: projectToken });

  // Secret rotation, when the service has it: the new secret is shown in that answer only.
  const documented = (doc: Record<string, any>) => attackOperations(doc);
  const projectOps = documented(openapiDocument);
  const rotation = projectOps.find((op) => op.key === 'post /projects/{id}/secret');
  let rotated: string | undefined;
  if (rotation) {
    const res = await sendRaw(project.url, {
      method: 'POST',
      path: `/projects/${p2.id}/secret`,
      headers: [['Authorization', `Bearer ${projectToken}`]],
    });
    expect(res.status).toBe(200);
    rotated = (res.body as { appSecret: string }).appSecret;
    expect(rotated).toEqual(expect.any(String));
    secrets['rotated app secret of project 2'] = rotated;
    record('POST project/projects/:id/secret (its own answer, the new secret masked)', res, rotated);
    const third = await call(project.url, 'POST', `/projects/${p2.id}/deployments`, { auth: projectToken });
    const thirdId = (third.body as { id: number }).id;
    expect(
      (await call(project.url, 'POST', '/deployment/webhook', { auth: rotated, body: JSON.stringify({ id: thirdId, status: 'building' }) }))
        .status,
    ).toBe(200);
    expect(
      (
        await call(project.url, 'POST', '/deployment/webhook', {
          auth: p2.secret,
          body: JSON.stringify({ id: thirdId, status: 'deploying' }),
        })
      ).status,
    ).toBe(401);
  }

  // Every documented operation of both services: good, and bad in each way.
  const eventIds = (await aggregator.database.db('events').select('id')).map((r) => String(r.id));
  const idFor = (op: AttackOperation) => {
    if (op.template.startsWith('/docs/assets/')) return 'swagger-ui.css';
    if (op.template.startsWith('/users/')) return String(owner.id);
    if (op.template.startsWith('/deployments/')) return String(deploymentId);
    if (op.template.startsWith('/events/')) return eventIds[0] ?? '1';
    return String(p1.id);
  };
  const everySecret = () => Object.values(secrets);
  for (const [, base, doc, token] of [
    ['project', project.url, openapiDocument, projectToken],
    ['aggregator', aggregator.url, aggregatorDocument, aggregatorToken],
  ] as const) {
    for (const op of documented(doc)) {
      const method = op.method.toUpperCase();
      const path = (id: string) => op.template.replace(/\{[^}]+\}/g, encodeURIComponent(id));
      const good = op.schemes.includes('webhook') ? p1.secret : token;
      const body =
        op.key === 'post /deployment/webhook'
          ? JSON.stringify({ id: deploymentId, status: 'done' })
          : op.body
            ? JSON.stringify(op.body.example ?? {})
            : undefined;
      if (op.key === 'post /projects/{id}/secret') continue; // called above, with its answer masked
      const streaming = op.template.endsWith('/stream');
      const variants: Array<{ auth?: string | null; id?: string; body?: string }> = [
        { auth: good },
        { auth: null },
        ...everySecret()
          .filter((s) => s !== good)
          .map((auth) => ({ auth })),
        { auth: `${good}x` },
        { auth: good, id: 'abc' },
        { auth: good, id: '2147483647' },
        ...(op.body
          ? [
              { auth: good, body: '{' },
              { auth: good, body: JSON.stringify({ extra: projectToken.slice(0, 4) }) },
            ]
          : []),
      ];
      for (const v of variants) {
        if (streaming && v.auth === good && v.id === undefined) continue; // the good stream is opened by the attack run below
        await call(base, method, path(v.id ?? idFor(op)), { auth: v.auth, body: v.body ?? body });
      }
    }
  }
  // The webhook in particular: the other project's secret, the admin token, an unknown deployment.
  for (const auth of [p2.secret, projectToken, aggregatorToken])
    await call(project.url, 'POST', '/deployment/webhook', { auth, body: JSON.stringify({ id: deploymentId, status: 'failed' }) });
  await call(project.url, 'POST', '/deployment/webhook', { auth: p1.secret, body: JSON.stringify({ id: 2_000_000, status: 'failed' }) });

  // And generated requests, for breadth (each answer recorded too).
  await runAttack({
    label: 'leak scan: project-service',
    baseUrl: project.url,
    document: openapiDocument,
    contract: projectContract(),
    db: projectDb.db,
    credentials: {
      admin: [projectToken],
      metrics: [projectMetricsToken],
      webhook: [p1.secret, rotated ?? p2.secret],
      other: [aggregatorToken],
    },
    knownIds: [String(p1.id), String(p2.id), String(deploymentId), String(owner.id)],
    numRuns: 100,
    // The relay writes delivery marks on its own: this run checks answers, not the outbox's stillness.
    excludeTables: ['outbox'],
    onResponse: (request, res) => record(`attack ${request.method} ${request.path.slice(0, 80)}`, res),
  });

  // Everything the relay has to deliver has arrived.
  for (let i = 0; i < 200; i++) {
    const waiting = await projectDb.db('outbox').whereNull('delivered_at').count<{ count: number }[]>('* as count');
    if (Number(waiting[0]?.count) === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const outbox = await projectDb.db.raw(`select row_to_json(o)::text as t from outbox o`);
  const events = await aggregator.database.db.raw(`select row_to_json(e)::text as t from events e`);
  expect(events.rows.length).toBeGreaterThanOrEqual(8);
  // Every outbox event was delivered (the aggregator also holds the example event POSTed to it above).
  expect(await projectDb.db('outbox').whereNull('delivered_at').count<{ count: number }[]>('* as count')).toEqual([{ count: 0 }]);
  expect(events.rows.length).toBeGreaterThanOrEqual(outbox.rows.length);

  const haystacks: Array<[string, string]> = [
    ...responses,
    ...projectLogs.lines.map((l, i): [string, string] => [`project-service log line ${i}`, l]),
    ...aggregatorLogs.lines.map((l, i): [string, string] => [`aggregator log line ${i}`, l]),
    ...outbox.rows.map((r: { t: string }, i: number): [string, string] => [`outbox row ${i}`, r.t]),
    ...events.rows.map((r: { t: string }, i: number): [string, string] => [`stored event ${i}`, r.t]),
  ];
  expect(responses.length).toBeGreaterThan(200);
  expect(projectLogs.lines.length).toBeGreaterThan(200);
  expect(aggregatorLogs.lines.length).toBeGreaterThan(20);
  expect(findLeaks(secrets, haystacks)).toEqual([]);
}, 60_000);

it('the scan finds a planted leak: a secret, or its digest, in a log line', () => {
  const planted = secret();
  const line = JSON.stringify({ level: 30, msg: 'request', auth: `Bearer ${planted}` });
  expect(findLeaks({ planted }, [['log', line]])).toEqual([['planted', 'log']]);
  const digestLine = JSON.stringify({ level: 30, digest: createHash('sha256').update(planted).digest('hex') });
  expect(
    findLeaks({ planted }, [
      ['log', digestLine],
      ['clean', '{"level":30}'],
    ]),
  ).toEqual([['planted', 'log']]);
});
