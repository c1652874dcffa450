import { randomBytes } from 'node:crypto';
import type { DeploymentStatus } from '@hosting/shared';
import { combineContracts, countQueries, createTestDatabase, loadContract, type TestDatabase } from '@hosting/shared/testing';
import * as statsIndexes from '../migrations/20261121000100_stats_indexes.js';
import { createApp, factories, httpClient, logCapture, ownContract, platformContract, type Call } from './helpers.js';

/**
 * GET /users/:id/stats on a real database with a fixed clock: Wednesday 2027-01-13 12:00 UTC, in
 * ISO week 2027-W02 (Monday 2027-01-11 … Sunday 2027-01-17). 2026 has 53 ISO weeks: 2026-W53 is
 * Monday 2026-12-28 … Sunday 2027-01-03, and 2027-W01 starts on Monday 2027-01-04.
 */
const NOW = new Date('2027-01-13T12:00:00.000Z');

/**
 * Every response is checked against our own document (strictly) and the platform's contract. The
 * platform's contract does not know this route: it is declared one of our extensions there, so only
 * its error bodies are checked against the platform's `Error`.
 */
function statsContract() {
  return combineContracts(loadContract(platformContract().document, { extensions: ['^/users/[^/]+/stats$'] }), ownContract());
}

let database: TestDatabase;
let call: Call;
let make: ReturnType<typeof factories>;

beforeAll(async () => {
  database = await createTestDatabase('project');
  const token = randomBytes(24).toString('base64url');
  const app = createApp({
    db: database.db,
    logger: logCapture().logger,
    config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: 'example.app' },
    clock: () => new Date(NOW),
  });
  call = httpClient(app.callback(), statsContract(), token);
  make = factories(database.db);
});
afterAll(() => database.drop());

/** A user with one project per entry of `deployments`, each holding its deployments (status, created at). */
async function userWith(...projects: Array<Array<[DeploymentStatus, string]>>): Promise<number> {
  const user = await make.user();
  for (const deployments of projects) {
    const project = await make.project({ userId: user.id });
    for (const [status, createdAt] of deployments) await make.deployment(project.id, status, new Date(createdAt));
  }
  return user.id;
}

const stats = (userId: number, query = '') => call('get', `/users/${userId}/stats${query}`);

describe('GET /users/:id/stats', () => {
  it('runs from the week of the first deployment through the current week, counting empty weeks, across the year boundary', async () => {
    const userId = await userWith(
      [
        ['done', '2026-12-22T10:00:00.000Z'], // 2026-W52
        ['pending', '2027-01-13T08:00:00.000Z'], // 2027-W02, the current week
        ['done', '2027-01-18T00:00:00.000Z'], // 2027-W03: after the current week, not counted
      ],
      [
        ['failed', '2026-12-27T23:59:59.999Z'], // 2026-W52, its last millisecond
        // nothing in 2026-W53
        ['done', '2027-01-04T00:00:00.000Z'], // 2027-W01, its first instant
      ],
    );
    // Another user's deployments never count.
    await userWith([
      ['done', '2027-01-05T10:00:00.000Z'],
      ['done', '2026-12-22T10:00:00.000Z'],
    ]);

    const res = await stats(userId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      userId,
      from: '2026-12-21',
      to: '2027-01-17',
      weeks: 4, // 2026-W52, 2026-W53 (empty), 2027-W01, 2027-W02
      deployments: 4,
      successfulDeployments: 2,
      averageWeeklyDeployments: 1,
      averageWeeklySuccessfulDeployments: 0.5,
    });
  });

  it('rounds the averages to 2 decimals: 7 deployments over 3 weeks is 2.33', async () => {
    const userId = await userWith(
      [
        ['done', '2026-12-28T00:00:00.000Z'], // 2026-W53, Monday
        ['failed', '2027-01-01T12:00:00.000Z'], // 2026-W53, Friday of the next calendar year
        ['cancelled', '2027-01-03T23:00:00.000Z'], // 2026-W53, Sunday
      ],
      [
        ['done', '2027-01-06T09:00:00.000Z'], // 2027-W01
        ['building', '2027-01-11T00:00:00.000Z'], // 2027-W02
        ['deploying', '2027-01-12T00:00:00.000Z'],
        ['failed', '2027-01-13T11:59:59.000Z'],
      ],
    );
    const res = await stats(userId);
    expect(res.body).toEqual({
      userId,
      from: '2026-12-28',
      to: '2027-01-17',
      weeks: 3,
      deployments: 7,
      successfulDeployments: 2,
      averageWeeklyDeployments: 2.33,
      averageWeeklySuccessfulDeployments: 0.67,
    });
  });

  it('counts every status as a deployment and only done as successful', async () => {
    const week = [
      '2027-01-04T01:00:00.000Z',
      '2027-01-05T01:00:00.000Z',
      '2027-01-06T01:00:00.000Z',
      '2027-01-07T01:00:00.000Z',
      '2027-01-08T01:00:00.000Z',
      '2027-01-09T01:00:00.000Z',
    ];
    const statuses: DeploymentStatus[] = ['pending', 'building', 'deploying', 'done', 'failed', 'cancelled'];
    const userId = await userWith(statuses.map((status, i) => [status, week[i]!]));
    const res = await stats(userId, '?from=2027-01-04&to=2027-01-10');
    expect(res.body).toMatchObject({
      weeks: 1,
      deployments: 6,
      successfulDeployments: 1,
      averageWeeklyDeployments: 6,
      averageWeeklySuccessfulDeployments: 1,
    });
  });

  it('gives a user without deployments zeros and no window', async () => {
    const userId = await userWith([]); // a project, but no deployment
    const res = await stats(userId);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      userId,
      from: null,
      to: null,
      weeks: 0,
      deployments: 0,
      successfulDeployments: 0,
      averageWeeklyDeployments: 0,
      averageWeeklySuccessfulDeployments: 0,
    });
    const none = await make.user(); // not even a project
    expect((await stats(none.id)).body).toMatchObject({ userId: none.id, from: null, to: null, weeks: 0, deployments: 0 });
  });

  it('gives a user without deployments the weeks of the window asked for, with zeros', async () => {
    const userId = await userWith([]);
    const res = await stats(userId, '?from=2026-12-30&to=2027-01-13');
    expect(res.body).toEqual({
      userId,
      from: '2026-12-28',
      to: '2027-01-17',
      weeks: 3,
      deployments: 0,
      successfulDeployments: 0,
      averageWeeklyDeployments: 0,
      averageWeeklySuccessfulDeployments: 0,
    });
    // `from` alone runs through the current week.
    expect((await stats(userId, '?from=2027-01-04')).body).toMatchObject({
      from: '2027-01-04',
      to: '2027-01-17',
      weeks: 2,
      deployments: 0,
    });
  });

  describe('from and to', () => {
    let userId: number;
    beforeAll(async () => {
      userId = await userWith([
        ['done', '2027-01-03T23:59:59.999Z'], // 2026-W53, its last millisecond
        ['done', '2027-01-04T00:00:00.000Z'], // 2027-W01, its first instant
        ['failed', '2027-01-10T23:59:59.999Z'], // 2027-W01, its last millisecond
        ['done', '2027-01-11T00:00:00.000Z'], // 2027-W02, its first instant
      ]);
    });

    it.each([
      // [query, from, to, weeks, deployments, successful]
      ['?from=2027-01-04&to=2027-01-04', '2027-01-04', '2027-01-10', 1, 2, 1], // one week, both ends of it
      ['?from=2027-01-10&to=2027-01-10', '2027-01-04', '2027-01-10', 1, 2, 1], // a Sunday is in the week before it
      ['?from=2027-01-06T12:00:00Z&to=2027-01-07T08:00:00Z', '2027-01-04', '2027-01-10', 1, 2, 1], // partial weeks count whole
      ['?from=2027-01-03', '2026-12-28', '2027-01-17', 3, 4, 3], // through the current week
      ['?from=2027-01-04', '2027-01-04', '2027-01-17', 2, 3, 2],
      ['?from=2027-01-04T01:00:00%2B02:00', '2026-12-28', '2027-01-17', 3, 4, 3], // an offset: still Sunday in UTC
      ['?from=2027-01-03T23:30:00-02:00', '2027-01-04', '2027-01-17', 2, 3, 2], // an offset: already Monday in UTC
      ['?to=2027-01-01', '2026-12-28', '2027-01-03', 1, 1, 1], // from the first deployment
      ['?to=2027-01-04T00:00:00Z', '2026-12-28', '2027-01-10', 2, 3, 2], // to is included: its whole week
      ['?from=2027-01-11&to=2027-01-31', '2027-01-11', '2027-01-31', 3, 1, 1], // future weeks count when asked for
      ['?from=2026-11-02&to=2026-11-15', '2026-11-02', '2026-11-15', 2, 0, 0], // before any deployment
      ['?from=2026-12-31&to=2027-01-05', '2026-12-28', '2027-01-10', 2, 3, 2], // across the year boundary
    ])('%s is %s … %s: %i weeks, %i deployments, %i successful', async (query, from, to, weeks, deployments, successful) => {
      const res = await stats(userId, query);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ userId, from, to, weeks, deployments, successfulDeployments: successful });
    });

    it('has no window when to is before the first deployment and from is not given', async () => {
      const res = await stats(userId, '?to=2026-12-01');
      expect(res.body).toEqual({
        userId,
        from: null,
        to: null,
        weeks: 0,
        deployments: 0,
        successfulDeployments: 0,
        averageWeeklyDeployments: 0,
        averageWeeklySuccessfulDeployments: 0,
      });
    });

    it('ignores other query parameters', async () => {
      expect((await stats(userId, '?from=2027-01-04&to=2027-01-04&_=123')).body).toMatchObject({ weeks: 1, deployments: 2 });
    });

    it.each([
      ['?from=2027-01-06&to=2027-01-05', 'must not be after query.to'], // in one week, still after
      ['?from=2027-01-05T00:00:01Z&to=2027-01-05T00:00:00Z', 'must not be after query.to'],
      ['?from=2027-01-13T12:00:01Z', 'must not be in the future (query.to defaults to now)'],
      ['?from=2027-02-01', 'must not be in the future (query.to defaults to now)'],
    ])('is a 400 naming query.from when from is after to: %s', async (query, message) => {
      const res = await stats(userId, query);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        name: 'ValidationError',
        message: `Invalid query.from: ${message}`,
        issues: [{ path: 'query.from', message }],
      });
    });

    it.each([
      'yesterday',
      '2027-13-01',
      '2027-02-30',
      '2027-1-4',
      '2027-01-04T10:00:00',
      '2027-01-04T10:00Z',
      '2027-01-04 10:00:00Z',
      '',
      '0000-12-31',
      '9999-12-27',
      '1736899200',
    ])('is a 400 naming query.from for from=%p, and query.to for the same to', async (value) => {
      const from = await stats(userId, `?from=${encodeURIComponent(value)}`);
      expect(from.status).toBe(400);
      expect(from.body).toMatchObject({ name: 'ValidationError', issues: [{ path: 'query.from' }] });
      expect(from.body.message).toMatch(/^Invalid query\.from: /);
      const to = await stats(userId, `?to=${encodeURIComponent(value)}`);
      expect(to.status).toBe(400);
      expect(to.body).toMatchObject({ name: 'ValidationError', issues: [{ path: 'query.to' }] });
    });

    it('is a 400 for a repeated from', async () => {
      const res = await stats(userId, '?from=2027-01-04&from=2027-01-11');
      expect(res.status).toBe(400);
      expect(res.body.issues[0].path).toBe('query.from');
    });

    it('accepts the extreme bounds', async () => {
      const res = await stats(userId, '?from=0001-01-01&to=9999-12-26T23:59:59.999Z');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ from: '0001-01-01', to: '9999-12-26', weeks: 521722, deployments: 4, successfulDeployments: 3 });
    });

    it('answers in one SQL statement, whatever the window', async () => {
      for (const query of ['', '?from=2027-01-04', '?to=2027-01-01', '?from=0001-01-01&to=9999-12-26']) {
        const { result, queries } = await countQueries(database.db, () => stats(userId, query));
        expect(result.status).toBe(200);
        expect(queries).toHaveLength(1);
      }
      const unknown = await countQueries(database.db, () => stats(2147483647));
      expect(unknown.result.status).toBe(404);
      expect(unknown.queries).toHaveLength(1);
      // A bad query is refused before any SQL.
      const bad = await countQueries(database.db, () => stats(userId, '?from=2027-01-06&to=2027-01-05'));
      expect(bad.queries).toHaveLength(0);
    });
  });

  it('is a 404 for an unknown user', async () => {
    const res = await stats(2147483647);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ name: 'NotFoundError', status: 404, message: 'User 2147483647 not found' });
  });

  it.each(['0', '-1', 'abc', '1.5', '99999999999'])('is a 400 naming the id for %p', async (id) => {
    const res = await call('get', `/users/${id}/stats`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ name: 'ValidationError', issues: [expect.objectContaining({ path: 'path.id' })] });
  });

  it('is a 401 with WWW-Authenticate without the admin token', async () => {
    const user = await make.user();
    for (const token of [null, 'wrong-token', '']) {
      const res = await call('get', `/users/${user.id}/stats`, { token });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body.name).toBe('UnauthorizedError');
    }
  });
});

describe('the stats index migration', () => {
  const indexExists = async () =>
    (await database.db.raw<{ rows: unknown[] }>(`select 1 from pg_indexes where indexname = 'deployments_project_id_created_at'`)).rows
      .length === 1;

  it('has a down that drops the index and an up that makes it again', async () => {
    expect(await indexExists()).toBe(true);
    await statsIndexes.down(database.db);
    expect(await indexExists()).toBe(false);
    await statsIndexes.up(database.db);
    expect(await indexExists()).toBe(true);
    const { rows } = await database.db.raw<{ rows: Array<{ indexdef: string }> }>(
      `select indexdef from pg_indexes where indexname = 'deployments_project_id_created_at'`,
    );
    expect(rows[0]!.indexdef).toMatch(/\(project_id, created_at\) INCLUDE \(status\)$/);
  });
});
