import { randomUUID } from 'node:crypto';
import { sha256, type EventEnvelope, type Knex } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { createEventsRepo } from '../aggregator-service/src/features/events/events.repo.js';
import { createDeploymentsRepo } from '../project-service/src/features/deployments/deployments.repo.js';
import { createProjectsRepo } from '../project-service/src/features/projects/projects.repo.js';
import { STATEMENTS, deploymentsPage } from '../bench/statements.js';

/**
 * The benchmark's baseline runs copies of the services' hot statements (bench/statements.ts), so
 * that production code exports nothing for it. Each copy is held equal here to what its repository
 * really sends: the repository method runs on a real database while knex's `query` event records
 * the statement, and the copy, compiled by knex with the same parameters, must give the same text
 * (up to whitespace) and the same values in the same order.
 */
let project: TestDatabase;
let aggregator: TestDatabase;
beforeAll(async () => {
  [project, aggregator] = await Promise.all([createTestDatabase('project'), createTestDatabase('aggregator')]);
});
afterAll(() => Promise.all([project.drop(), aggregator.drop()]));

interface Sent {
  sql: string;
  bindings: unknown[];
}
const squash = (sql: string) => sql.replace(/\s+/g, ' ').trim();

/** The one statement `work` sends through `db`. */
async function sentBy(db: Knex, work: () => Promise<unknown>): Promise<Sent> {
  const seen: Sent[] = [];
  const listener = (q: Sent) => seen.push({ sql: squash(q.sql), bindings: q.bindings });
  db.on('query', listener);
  try {
    await work();
  } finally {
    db.off('query', listener);
  }
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

/** The copy as knex sends it. */
function copy(db: Knex, sql: string, params: Record<string, unknown>): Sent {
  const { sql: text, bindings } = db
    .raw(sql, params as Record<string, Knex.Value>)
    .toSQL()
    .toNative();
  return { sql: squash(text), bindings: [...bindings] };
}

it('the baseline runs the statements of the projects and deployments repositories', async () => {
  const db = project.db;
  const [user] = await db('users').insert({ email: 'bench@example.com', username: 'bench' }).returning('id');
  const [p] = await db('projects')
    .insert({ name: 'bench', user_id: user!.id, app_secret_sha256: sha256('secret') })
    .returning('id');
  const projects = createProjectsRepo(db);
  const deployments = createDeploymentsRepo(db);
  const projectId = p!.id;

  expect(await sentBy(db, () => projects.page(8, 16))).toEqual(copy(db, STATEMENTS.projectPage, { limit: 8, offset: 16 }));
  expect(await sentBy(db, () => projects.findById(projectId))).toEqual(copy(db, STATEMENTS.projectById, { id: projectId }));

  let id = 0;
  expect(await sentBy(db, async () => (id = (await deployments.create(projectId, { source: 'api', requestId: null }))!.id))).toEqual(
    copy(db, STATEMENTS.createDeployment, { projectId, source: 'api', requestId: null }),
  );
  expect(await sentBy(db, () => deployments.findForSecret(id, sha256('secret')))).toEqual(
    copy(db, STATEMENTS.findForSecret, { id, digest: sha256('secret') }),
  );
  expect(
    await sentBy(db, () => deployments.transition({ id, from: 'pending', to: 'done', url: 'x' }, { source: 'webhook', requestId: 'r' })),
  ).toEqual(copy(db, STATEMENTS.transition, { id, from: 'pending', to: 'done', url: 'x', source: 'webhook', requestId: 'r' }));

  for (const statuses of [[], ['failed'], ['building', 'deploying']] as const) {
    const { sql, params } = deploymentsPage(statuses, 8, 24);
    expect(await sentBy(db, () => deployments.page({ statuses: [...statuses] }, 8, 24))).toEqual(copy(db, sql, params));
  }
});

it("the baseline runs the event store's insert", async () => {
  const db = aggregator.db;
  const event: EventEnvelope = {
    eventId: randomUUID(),
    name: 'deployment.created',
    occurredAt: new Date().toISOString(),
    payload: { projectId: 1, deploymentId: 1, userId: 1 },
  };
  expect(await sentBy(db, () => createEventsRepo(db).insertNew([event]))).toEqual(
    copy(db, STATEMENTS.insertEvents, { events: `[${JSON.stringify(event)}]` }),
  );
});
