import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { createTestDatabase, listenLocally, runAttack, sendRaw, tableDigests, type TestDatabase } from '@hosting/shared/testing';
import { createAggregatorClient } from '../src/events/aggregator-client.js';
import type { DeploymentStreamHub } from '../src/features/stream/stream-hub.js';
import { openapiDocument } from '../src/openapi/document.js';
import {
  createApp,
  factories,
  logCapture,
  projectContract,
  startAggregator,
  type TestAggregator,
  testConfig,
  testStreamHub,
} from './helpers.js';

/**
 * The attack suite of project-service (issue 6): every operation of its OpenAPI document, driven
 * over real HTTP with generated hostile ids, query strings, bodies and headers (see
 * shared/src/testing/attack.ts for what is generated and which properties hold). The app has all
 * its parts (a real aggregator behind the activity feed, the live stream hub), so no answer is a
 * 503 for want of one. Replay a failure with FC_SEED=<seed> (and FC_PATH=<path>) from its report.
 */
const token = randomBytes(24).toString('base64url');
const metricsToken = randomBytes(24).toString('base64url');
const aggregatorToken = randomBytes(24).toString('base64url');

let projectDb: TestDatabase;
let aggregatorService: TestAggregator;
let hub: DeploymentStreamHub;
const servers: Array<{ close(): Promise<void> }> = [];
const logs = logCapture();

beforeAll(async () => {
  [projectDb, aggregatorService] = await Promise.all([
    createTestDatabase('project'),
    startAggregator({ token: aggregatorToken, logger: logCapture().logger }),
  ]);
  hub = testStreamHub(projectDb, logs.logger, { STREAM_MAX_CLIENTS: 1_000 });
  await hub.start();
});

afterAll(async () => {
  await hub.stop();
  for (const server of servers) await server.close();
  await Promise.all([projectDb.drop(), aggregatorService.close()]);
});

it('no generated request gets a 5xx, an error body outside the contract, a 2xx without its credential, or a write when refused', async () => {
  const make = factories(projectDb.db);
  const owner = await make.user();
  const projects = [await make.project({ userId: owner.id }), await make.project({ userId: owner.id }), await make.project()];
  const deployments = [];
  for (const status of ['pending', 'building', 'deploying', 'done', 'failed', 'cancelled'] as const)
    deployments.push(await make.deployment(projects[0]!.id, status));
  deployments.push(await make.deployment(projects[1]!.id, 'building'));
  const knownIds = [...new Set([owner.id, ...projects.map((p) => p.id), ...deployments.map((d) => d.id)])].map(String);

  const aggregator = createAggregatorClient({
    baseUrl: aggregatorService.url,
    token: aggregatorToken,
    timeoutMs: testConfig().AGGREGATOR_TIMEOUT_MS,
  });
  const app = createApp({
    db: projectDb.db,
    logger: logs.logger,
    config: {
      PROJECT_SERVICE_TOKEN: token,
      PUBLIC_DOMAIN: 'example.app',
      METRICS_TOKEN: metricsToken,
      // Failed credentials are the point here: the 429 after 20 of them would end the attack at the door.
      RATE_LIMIT_AUTH_FAILURES: 1_000_000,
    },
    aggregator,
    streamHub: hub,
  });
  const server = await listenLocally(app.callback());
  servers.push(server);

  try {
    const report = await runAttack({
      label: 'project-service',
      baseUrl: server.url,
      document: openapiDocument,
      contract: projectContract(),
      db: projectDb.db,
      credentials: { admin: [token], metrics: [metricsToken], webhook: projects.map((p) => p.secret) },
      knownIds,
      bodyLimitBytes: 16 * 1024,
      numRuns: 300,
    });
    // The attack reached every operation, and got past authentication to validation and beyond.
    const operations = Object.keys(report.operations);
    expect(operations.length).toBeGreaterThanOrEqual(Math.min(report.runs, 15));
    expect(report.statuses[400] ?? 0).toBeGreaterThan(report.runs / 10);
    expect(
      Object.entries(report.statuses)
        .filter(([s]) => s.startsWith('2'))
        .reduce((n, [, c]) => n + c, 0),
    ).toBeGreaterThan(report.runs / 20);
  } catch (err) {
    // The stack of a 500 is in the service's log: show it with the failure.
    const errors = logs.lines.filter((l) => /"level":50/.test(l)).slice(-3);
    throw new Error(`${(err as Error).message}\n\nservice errors logged:\n${errors.join('\n')}`);
  }
}, 60_000);

describe('what the attack found, pinned', () => {
  let url: string;
  let secret: string;
  let deploymentId: number;
  beforeAll(async () => {
    const make = factories(projectDb.db);
    const project = await make.project();
    secret = project.secret;
    deploymentId = (await make.deployment(project.id, 'building')).id;
    const app = createApp({
      db: projectDb.db,
      logger: logs.logger,
      config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app' },
    });
    const server = await listenLocally(app.callback());
    servers.push(server);
    url = server.url;
  });

  it.each(['gzip', 'deflate', 'br'])(
    'a body that is not the %s its Content-Encoding says is a 400 (was a 500), and changes nothing',
    async (encoding) => {
      const before = await tableDigests(projectDb.db);
      const res = await sendRaw(url, {
        method: 'POST',
        path: '/deployment/webhook',
        headers: [
          ['Authorization', `Bearer ${secret}`],
          ['Content-Type', 'application/json'],
          ['Content-Encoding', encoding],
        ],
        body: Buffer.from(JSON.stringify({ id: deploymentId, status: 'done' })),
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ name: 'BadRequestError', message: expect.stringContaining('Content-Encoding') });
      projectContract().check('post', '/deployment/webhook', res.status, res.body, res.contentType, res.headers);
      expect(await tableDigests(projectDb.db)).toEqual(before);
    },
  );

  it('a body that really is gzip is read', async () => {
    const res = await sendRaw(url, {
      method: 'POST',
      path: '/deployment/webhook',
      headers: [
        ['Authorization', `Bearer ${secret}`],
        ['Content-Type', 'application/json'],
        ['Content-Encoding', 'gzip'],
      ],
      body: gzipSync(JSON.stringify({ id: deploymentId, status: 'building' })),
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-webhook-outcome']).toBe('same');
  });

  it.each([
    ['the good one first', (good: string) => [`Bearer ${good}`, 'Bearer junk']],
    ['the good one last', (good: string) => ['Bearer junk', `Bearer ${good}`]],
    ['the good one twice', (good: string) => [`Bearer ${good}`, `Bearer ${good}`]],
  ])('two Authorization lines (%s) are no credential: 401 (the first was taken, a 200)', async (_what, lines) => {
    for (const [path, good] of [
      ['/projects', token],
      ['/deployment/webhook', secret],
    ] as const) {
      const webhook = path === '/deployment/webhook';
      const res = await sendRaw(url, {
        method: webhook ? 'POST' : 'GET',
        path,
        headers: [
          ...lines(good).map((line): [string, string] => ['Authorization', line]),
          ...(webhook ? [['Content-Type', 'application/json'] as [string, string]] : []),
        ],
        ...(webhook ? { body: Buffer.from(JSON.stringify({ id: deploymentId, status: 'building' })) } : {}),
      });
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
      expect(res.body).toMatchObject({ name: 'UnauthorizedError' });
    }
  });
});
