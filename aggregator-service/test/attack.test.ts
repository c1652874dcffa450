import { randomBytes } from 'node:crypto';
import { createLogger } from '@hosting/shared';
import { createTestDatabase, listenLocally, runAttack, sendRaw, tableDigests, type TestDatabase } from '@hosting/shared/testing';
import { openapiDocument } from '../src/openapi/document.js';
import { createApp, aggregatorContract, deploymentCreated } from './helpers.js';

/**
 * The attack suite of aggregator-service (issue 6): every operation of its OpenAPI document,
 * driven over real HTTP with generated hostile ids, query strings, bodies (up to and past the
 * 1 MB of POST /events) and headers; see shared/src/testing/attack.ts for the properties. Replay
 * a failure with FC_SEED=<seed> (and FC_PATH=<path>) from its report.
 */
const token = randomBytes(24).toString('base64url');
const metricsToken = randomBytes(24).toString('base64url');

let database: TestDatabase;
let server: { url: string; close(): Promise<void> };
const lines: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase('aggregator');
  const logger = createLogger({ level: 'error' }, { write: (line: string) => void lines.push(line) });
  const app = createApp({
    db: database.db,
    logger,
    // Failed credentials are the point here: the 429 after 20 of them would end the attack at the door.
    config: { AGGREGATOR_SERVICE_TOKEN: token, METRICS_TOKEN: metricsToken, RATE_LIMIT_AUTH_FAILURES: 1_000_000 },
  });
  server = await listenLocally(app.callback());
});

afterAll(async () => {
  await server.close();
  await database.drop();
});

it('no generated request gets a 5xx, an error body outside the contract, a 2xx without its credential, or a write when refused', async () => {
  const events = [1, 2, 3].map((n) => deploymentCreated({ projectId: n, deploymentId: 10 + n, userId: n }));
  const seeded = await sendRaw(server.url, {
    method: 'POST',
    path: '/events',
    headers: [
      ['Authorization', `Bearer ${token}`],
      ['Content-Type', 'application/json'],
    ],
    body: Buffer.from(JSON.stringify(events)),
  });
  expect(seeded.status).toBe(200);
  const ids = (await database.db('events').select('id')).map((r) => String(r.id));

  try {
    const report = await runAttack({
      label: 'aggregator-service',
      baseUrl: server.url,
      document: openapiDocument,
      contract: aggregatorContract(),
      db: database.db,
      credentials: { token: [token], metrics: [metricsToken] },
      knownIds: [...ids, '1', '2', '3', '11', '12', '13'],
      bodyLimitBytes: 1024 * 1024,
      numRuns: 300,
    });
    expect(Object.keys(report.operations).length).toBeGreaterThanOrEqual(Math.min(report.runs, 10));
    expect(report.statuses[400] ?? 0).toBeGreaterThan(report.runs / 10);
    expect(
      Object.entries(report.statuses)
        .filter(([s]) => s.startsWith('2'))
        .reduce((n, [, c]) => n + c, 0),
    ).toBeGreaterThan(report.runs / 20);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n\nservice errors logged:\n${lines.slice(-3).join('')}`);
  }
}, 60_000);

describe('what the attack found, pinned', () => {
  it.each([
    ['an array 500,000 deep (1 MB)', '['.repeat(500_000) + ']'.repeat(500_000)],
    [
      'a payload 65 objects deep',
      JSON.stringify([{ ...deploymentCreated(), payload: JSON.parse('{"a":'.repeat(65) + '1' + '}'.repeat(65)) }]),
    ],
  ])('a body that nests too deep is a 400 naming it (%s was a 500: a stack overflow), and nothing is stored', async (_what, text) => {
    const before = await tableDigests(database.db);
    const res = await sendRaw(server.url, {
      method: 'POST',
      path: '/events',
      headers: [
        ['Authorization', `Bearer ${token}`],
        ['Content-Type', 'application/json'],
      ],
      body: Buffer.from(text),
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ name: 'ValidationError', issues: [{ path: 'body', message: 'nests deeper than 64 levels' }] });
    aggregatorContract().check('post', '/events', res.status, res.body, res.contentType, res.headers);
    expect(await tableDigests(database.db)).toEqual(before);
  });
});

describe('more the attack found, pinned', () => {
  const get = (path: string) => sendRaw(server.url, { method: 'GET', path, headers: [['Authorization', `Bearer ${token}`]] });

  it.each(['/events?name=%00', '/events?name=a%00b', '/events/export?format=ndjson&name=%00', '/projects/1/activity?cursor=%00'])(
    '%s is a 400 naming the parameter (a NUL in a filter was a database error, a 500)',
    async (path) => {
      const res = await get(path);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        name: 'ValidationError',
        issues: [{ path: expect.stringMatching(/^query\./), message: expect.any(String) }],
      });
      aggregatorContract().check('get', path, res.status, res.body, res.contentType, res.headers);
    },
  );

  it.each(['__proto__', 'constructor', 'toString'])(
    'an event named %s is a 400 (a name found on Object was a 500), and nothing is stored',
    async (name) => {
      const before = await tableDigests(database.db);
      const res = await sendRaw(server.url, {
        method: 'POST',
        path: '/events',
        headers: [
          ['Authorization', `Bearer ${token}`],
          ['Content-Type', 'application/json'],
        ],
        body: Buffer.from(JSON.stringify({ ...deploymentCreated(), name })),
      });
      expect(res.status).toBe(400);
      expect((res.body as { issues: unknown[] }).issues).toContainEqual({ path: 'body.name', message: expect.any(String) });
      expect(await tableDigests(database.db)).toEqual(before);
    },
  );
});
