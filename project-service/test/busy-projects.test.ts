import { createProjectsRepo } from '../src/features/projects/projects.repo.js';
import { testService, type TestService } from './helpers.js';

let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

/** `GET /ops/busy-projects` and the busy-projects gauge: projects with more deployments in progress than a threshold. */
it('lists the projects with more deployments in progress than the threshold, busiest first, and counts them', async () => {
  const calm = await svc.make.project();
  const busy = await svc.make.project();
  const busiest = await svc.make.project();
  for (const status of ['pending', 'building', 'done', 'failed'] as const) await svc.make.deployment(calm.id, status);
  for (const status of ['pending', 'building', 'deploying', 'done'] as const) await svc.make.deployment(busy.id, status);
  for (const status of ['pending', 'pending', 'building', 'deploying'] as const) await svc.make.deployment(busiest.id, status);

  const res = await svc.call('get', '/ops/busy-projects?threshold=2');
  expect(res.status).toBe(200);
  expect(res.body).toEqual([
    { projectId: busiest.id, projectName: busiest.name, userId: busiest.userId, ongoing: 4 },
    { projectId: busy.id, projectName: busy.name, userId: busy.userId, ongoing: 3 },
  ]);
  expect((await svc.call('get', '/ops/busy-projects?threshold=3')).body).toEqual([
    { projectId: busiest.id, projectName: busiest.name, userId: busiest.userId, ongoing: 4 },
  ]);

  const projects = createProjectsRepo(svc.db);
  expect([await projects.countBusy(1), await projects.countBusy(2), await projects.countBusy(3), await projects.countBusy(4)]).toEqual([
    3, 2, 1, 0,
  ]);
});
