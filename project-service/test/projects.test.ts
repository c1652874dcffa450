import { countQueries } from '@hosting/shared/testing';
import { testService, type TestService } from './helpers.js';

let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

describe('GET /projects/:id', () => {
  it('shows a project with its flags and without its secret', async () => {
    const project = await svc.make.project();
    const res = await svc.call('get', `/projects/${project.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: project.id,
      name: project.name,
      url: null,
      userId: project.userId,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      hasOngoingDeployment: false,
      hasPendingDeployment: false,
      hasLiveDeployment: false,
    });
    expect(res.text).not.toContain(project.secret);
  });

  it('derives the flags from the deployments', async () => {
    const project = await svc.make.project();
    await svc.make.deployment(project.id, 'done');
    await svc.make.deployment(project.id, 'building');
    const res = await svc.call('get', `/projects/${project.id}`);
    expect(res.body).toMatchObject({ hasOngoingDeployment: true, hasPendingDeployment: true, hasLiveDeployment: true });
  });

  it('counts failed and cancelled deployments as neither ongoing nor live', async () => {
    const project = await svc.make.project();
    await svc.make.deployment(project.id, 'failed');
    await svc.make.deployment(project.id, 'cancelled');
    const res = await svc.call('get', `/projects/${project.id}`);
    expect(res.body).toMatchObject({ hasOngoingDeployment: false, hasPendingDeployment: false, hasLiveDeployment: false });
  });

  it('is a 404 in the contract shape for an unknown project', async () => {
    const res = await svc.call('get', '/projects/2147483647');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ name: 'NotFoundError', status: 404, message: 'Project 2147483647 not found' });
  });

  it.each(['0', '-1', 'abc', '1.5', '99999999999'])('is a 400 naming the id for %p', async (id) => {
    const res = await svc.call('get', `/projects/${id}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ name: 'ValidationError', issues: [expect.objectContaining({ path: 'path.id' })] });
  });

  it('is a 401 with WWW-Authenticate without the admin token', async () => {
    for (const token of [null, 'wrong-token', '', 'x'.repeat(10_240)]) {
      const res = await svc.call('get', '/projects/1', { token });
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer');
      expect(res.body.name).toBe('UnauthorizedError');
    }
  });
});

describe('GET /projects', () => {
  let ids: number[];
  beforeAll(async () => {
    await svc.db('deployments').del();
    await svc.db('projects').del();
    ids = [];
    for (let i = 0; i < 19; i++) ids.push((await svc.make.project()).id);
    await svc.make.deployment(ids[0]!, 'deploying');
    await svc.make.deployment(ids[9]!, 'done');
  });

  it('pages by 8 in id order with Link and X-Total-Count', async () => {
    const res = await svc.call('get', '/projects?page=2');
    expect(res.status).toBe(200);
    expect(res.body.map((p: { id: number }) => p.id)).toEqual(ids.slice(8, 16));
    expect(res.headers['x-total-count']).toBe('19');
    const link = res.headers.link!;
    expect(link).toMatch(/<http:\/\/127\.0\.0\.1:\d+\/projects\?page=1>; rel="first"/);
    expect(link).toMatch(/\?page=1>; rel="prev previous"/);
    expect(link).toMatch(/\?page=3>; rel="next"/);
    expect(link).toMatch(/\?page=3>; rel="last"/);
    expect(res.body[1]).toMatchObject({ id: ids[9], hasLiveDeployment: true, hasOngoingDeployment: false });
  });

  it('defaults to page 1 with the flags of each project', async () => {
    const res = await svc.call('get', '/projects');
    expect(res.body).toHaveLength(8);
    expect(res.body[0]).toMatchObject({ id: ids[0], hasOngoingDeployment: true, hasPendingDeployment: true, hasLiveDeployment: false });
    expect(res.headers.link).not.toContain('rel="prev');
  });

  it('answers 200 [] past the end', async () => {
    const res = await svc.call('get', '/projects?page=4');
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
    expect(res.headers['x-total-count']).toBe('19');
  });

  it.each(['0', '-2', 'x', '1.5', ''])('is a 400 for page=%p', async (page) => {
    const res = await svc.call('get', `/projects?page=${page}`);
    expect(res.status).toBe(400);
    expect(res.body.issues[0].path).toBe('query.page');
  });

  it('is a 400 for a repeated page', async () => {
    const res = await svc.call('get', '/projects?page=1&page=2');
    expect(res.status).toBe(400);
  });

  it('makes one query per page, however many projects it shows', async () => {
    const full = await countQueries(svc.db, () => svc.call('get', '/projects?page=1'));
    const partial = await countQueries(svc.db, () => svc.call('get', '/projects?page=3'));
    expect(full.queries).toHaveLength(1);
    expect(partial.queries).toHaveLength(1);
  });

  it('never shows an app secret', async () => {
    const res = await svc.call('get', '/projects?page=1');
    for (const p of res.body)
      expect(Object.keys(p).sort()).toEqual([
        'createdAt',
        'hasLiveDeployment',
        'hasOngoingDeployment',
        'hasPendingDeployment',
        'id',
        'name',
        'url',
        'userId',
      ]);
  });
});
