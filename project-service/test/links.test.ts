import { loadConfig } from '../src/config.js';
import { testService, type TestService } from './helpers.js';

let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

const FORGED = 'evil.example>; rel="next", <https://attacker.example/steal';

describe('Link headers and the Host they are built from', () => {
  it('refuses a Host that is not hostname[:port] with a 400 naming it, before any Link is built', async () => {
    await svc.make.project();
    const res = await svc.call('get', '/projects', { headers: { Host: FORGED } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: 400, name: 'BadRequestError', message: 'Invalid Host header: must be hostname[:port]' });
    expect(res.headers.link).toBeUndefined();
    expect(JSON.stringify(res.headers)).not.toContain('attacker.example');
  });

  it('refuses it on every API route, an unknown one included', async () => {
    for (const path of ['/deployments', '/outbox/status', '/users/1/stats']) {
      const res = await svc.call('get', path, { headers: { Host: 'a.example/x' } });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ name: 'BadRequestError', message: 'Invalid Host header: must be hostname[:port]' });
    }
  });

  it('builds links from a valid Host as before', async () => {
    const res = await svc.call('get', '/projects', { headers: { Host: 'api.example.com:8080' } });
    expect(res.status).toBe(200);
    expect(res.headers.link).toMatch(/^<http:\/\/api\.example\.com:8080\/projects\?page=1>; rel="first"/);
  });
});

describe('what a Link carries', () => {
  // Before, links echoed the request's whole query: 6 KB of unknown parameters made four 6 KB
  // links, a header Node's HTTP client (supertest's) refuses to read ("Header overflow").
  const junk = `colour=${'9'.repeat(6_000)}`;

  it("keeps the list's own filters, as parsed, and no parameter the route does not read", async () => {
    const project = await svc.make.project();
    for (let i = 0; i < 9; i++) await svc.make.deployment(project.id, 'done');
    const res = await svc.call('get', `/deployments?page=2&${junk}&projectId=${project.id}&status=${'done,'.repeat(1_000)}done`, {
      headers: { Host: 'api.example.com' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(1);
    const base = `http://api.example.com/deployments?projectId=${project.id}&status=done`;
    expect(res.headers.link).toBe(`<${base}&page=1>; rel="first", <${base}&page=1>; rel="prev previous", <${base}&page=2>; rel="last"`);
  });

  it('is the same on a list without filters', async () => {
    const res = await svc.call('get', `/projects?${junk}&page=1`, { headers: { Host: 'api.example.com' } });
    expect(res.status).toBe(200);
    expect(res.headers.link).toMatch(/^<http:\/\/api\.example\.com\/projects\?page=1>; rel="first"/);
    expect(res.headers.link).not.toContain('colour');
  });
});

describe('Cache-Control of authenticated answers', () => {
  it('is private, no-store on every answer behind a credential, errors included', async () => {
    const project = await svc.make.project();
    const deployment = await svc.make.deployment(project.id, 'pending');
    const answers = [
      await svc.call('get', '/projects'),
      await svc.call('get', `/projects/${project.id}`),
      await svc.call('get', '/deployments/2147483000'),
      await svc.call('get', '/deployments?page=0'),
      await svc.call('post', '/deployment/webhook', { token: project.secret, body: { id: deployment.id, status: 'building' } }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 404, 400, 200]);
    for (const res of answers) expect(res.headers['cache-control']).toBe('private, no-store');
  });

  it('leaves the open routes their own policy', async () => {
    expect((await svc.call('get', '/healthz', { token: null })).headers['cache-control']).toBeUndefined();
    expect((await svc.call('get', '/openapi.json', { token: null })).headers['cache-control']).toBe('no-cache');
  });
});

describe('PUBLIC_BASE_URL', () => {
  const env = {
    PROJECT_DATABASE_URL: 'postgres://x@localhost/db',
    PROJECT_SERVICE_TOKEN: 'a'.repeat(20),
    AGGREGATOR_SERVICE_TOKEN: 'b'.repeat(20),
  };

  it('is required in production, in one line naming it', () => {
    expect(() => loadConfig({ ...env, NODE_ENV: 'production' })).toThrow(
      /^Invalid configuration:\n {2}- PUBLIC_BASE_URL: required when NODE_ENV=production \(the base of the absolute URLs in Link headers\), e\.g\. https:\/\/api\.example\.com$/,
    );
    expect(loadConfig({ ...env, NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://api.example.com' }).PUBLIC_BASE_URL).toBe(
      'https://api.example.com',
    );
    expect(loadConfig(env).PUBLIC_BASE_URL).toBeUndefined();
  });

  it.each([
    'https://api.example.com/?page=1',
    'https://api.example.com/#x',
    'https://user:pw@api.example.com',
    'ftp://api.example.com',
    'https://api.example.com/a>b',
    'not a url',
  ])('refuses %s, naming the variable', (value) =>
    expect(() => loadConfig({ ...env, PUBLIC_BASE_URL: value })).toThrow(/PUBLIC_BASE_URL: /),
  );
});
