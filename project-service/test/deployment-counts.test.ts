import { DEPLOYMENT_STATUSES, type DeploymentStatus } from '@hosting/shared';
import { testService, type TestService } from './helpers.js';

/**
 * X-Total-Count of `GET /deployments` comes from counters kept by triggers (migration
 * deployment_counts), and a page of several statuses over all projects from a union of per-status
 * index ranges. Both must answer exactly what counting and `status in (…) order by id` would,
 * after every kind of write: creation, webhook, cancel, bulk update, delete, truncate.
 */
let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

const FILTERS: Array<{ statuses: DeploymentStatus[]; project?: boolean }> = [
  { statuses: [] },
  ...DEPLOYMENT_STATUSES.map((s) => ({ statuses: [s] })),
  { statuses: ['building', 'deploying'] },
  { statuses: ['pending', 'building', 'deploying'] },
  { statuses: ['done', 'failed', 'cancelled'] },
  { statuses: ['done'], project: true },
  { statuses: ['pending', 'done'], project: true },
  { statuses: [], project: true },
];

/** Every filter and page answers as counting and ordering the table itself would. */
async function expectExact(projectId: number) {
  for (const { statuses, project } of FILTERS) {
    const rows = await svc
      .db('deployments')
      .modify((q) => {
        if (statuses.length) q.whereIn('status', statuses);
        if (project) q.where('project_id', projectId);
      })
      .orderBy('id')
      .select('id');
    const ids = rows.map((r: { id: number }) => r.id);
    for (const page of [1, 2, 3]) {
      const query = [statuses.length ? `status=${statuses.join(',')}` : '', project ? `projectId=${projectId}` : '', `page=${page}`]
        .filter(Boolean)
        .join('&');
      const res = await svc.call('get', `/deployments?${query}`);
      expect({ query, status: res.status, total: res.headers['x-total-count'] }).toEqual({ query, status: 200, total: String(ids.length) });
      expect({ query, ids: res.body.map((d: { id: number }) => d.id) }).toEqual({ query, ids: ids.slice((page - 1) * 8, page * 8) });
    }
  }
}

it('stays exact through creations, webhook transitions, cancels, bulk updates, deletes and a truncate', async () => {
  const a = await svc.make.project();
  const b = await svc.make.project();
  // Direct inserts in every status, interleaved between two projects, so pages mix statuses.
  for (let i = 0; i < 30; i++) await svc.make.deployment(i % 2 ? a.id : b.id, DEPLOYMENT_STATUSES[i % DEPLOYMENT_STATUSES.length]);
  // One statement inserting many rows (the trigger sums per statement).
  await svc.db.raw(
    `insert into deployments (project_id, status, deployed_in)
     select ?, s, case when s = 'done' then 30 end from generate_series(1, 25) i, lateral (select (array['pending','building','done'])[1 + i % 3] as s) x`,
    [a.id],
  );
  await expectExact(a.id);

  // Through the API: creations, webhook steps to done and failed, a cancel.
  const created: number[] = [];
  for (let i = 0; i < 6; i++) created.push((await svc.call('post', `/projects/${a.id}/deployment`)).body.id);
  const hook = (id: number, status: DeploymentStatus) => svc.call('post', '/deployment/webhook', { token: a.secret, body: { id, status } });
  for (const id of created.slice(0, 3)) {
    expect((await hook(id, 'building')).status).toBe(200);
    expect((await hook(id, 'deploying')).status).toBe(200);
  }
  expect((await hook(created[0]!, 'done')).status).toBe(200);
  expect((await hook(created[1]!, 'failed')).status).toBe(200);
  expect((await hook(created[1]!, 'failed')).status).toBe(200); // a repeat changes nothing
  expect((await svc.call('post', `/deployments/${created[3]}/cancel`)).status).toBe(200);
  await expectExact(a.id);

  // A bulk update across statuses and projects, an update that changes no status, a delete.
  await svc.db('deployments').whereIn('status', ['pending', 'building']).andWhere('project_id', b.id).update({ status: 'cancelled' });
  await svc.db('deployments').where('status', 'done').update({ updated_at: svc.db.fn.now() });
  await svc.db('deployments').where('project_id', a.id).andWhere('status', 'failed').delete();
  await expectExact(a.id);

  // Deleting a project deletes its deployments (cascade) and their counts.
  await svc.db('projects').where('id', b.id).delete();
  await expectExact(a.id);

  await svc.db.raw('truncate deployments cascade');
  await expectExact(a.id);
  await svc.make.deployment(a.id, 'done');
  await expectExact(a.id);
}, 60_000);

it('never makes a writer wait: a transaction holding a change does not block other writes of the project', async () => {
  const { default: pg } = await import('pg');
  const p = await svc.make.project();
  const [d1, d2] = [await svc.make.deployment(p.id, 'pending'), await svc.make.deployment(p.id, 'pending')];
  const tx = new pg.Client({ connectionString: svc.database.url });
  await tx.connect();
  try {
    await tx.query('begin');
    await tx.query(`update deployments set status = 'building', updated_at = now() where id = $1`, [d1.id]);
    // Answered while `tx` still holds its change: a write that waited for it could only finish after
    // the rollback below (or fail on the statement timeout), whatever the machine's speed.
    const res = await svc.call('post', '/deployment/webhook', { token: p.secret, body: { id: d2.id, status: 'building' } });
    expect(res.status).toBe(200);
    await expectExact(p.id); // the uncommitted change is not counted
    await tx.query('rollback');
  } finally {
    await tx.end();
  }
  await expectExact(p.id);
  // The rolled-back rows were never folded, and later writes fold what is left.
  await svc.call('post', '/deployment/webhook', { token: p.secret, body: { id: d1.id, status: 'building' } });
  await expectExact(p.id);
  const { rows } = await svc.db.raw<{ rows: Array<{ rows: number }> }>(
    'select count(*) as rows from deployment_counts where project_id = ?',
    [p.id],
  );
  expect(rows[0]!.rows).toBeLessThanOrEqual(2); // one row per status with deployments
}, 30_000);
