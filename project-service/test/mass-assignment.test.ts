import { listenLocally, massAssignmentCases, sendRaw, tableDigests, type AttackOperation } from '@hosting/shared/testing';
import { openapiDocument } from '../src/openapi/document.js';
import { projectContract, testService, type TestService } from './helpers.js';

/**
 * Mass assignment (issue 6): no client sets `status`, `url`, the app secret, the owner, ids or
 * timestamps through any route. For every operation of the OpenAPI document that takes a body
 * (a route added later is covered by the same loop), each protected field the body does not
 * declare is a 400 naming that field, and nothing is written; then the same request without it
 * succeeds, so the field, not the setup, was what got refused. Unknown fields are refused, never
 * ignored: one rule, and a client's typo is an answer rather than a silent no-op.
 */
let svc: TestService;
let url: string;
let close: () => Promise<void>;
beforeAll(async () => {
  svc = await testService();
  ({ url, close } = await listenLocally(svc.app.callback()));
});
afterAll(async () => {
  await close();
  await svc.close();
});

interface Setup {
  path: string;
  token: string;
  base: unknown;
  /** The status of the same request without the extra field. */
  control: number;
}

/** A request of `operation` that would succeed, on rows of its own. */
async function setupFor(operation: AttackOperation): Promise<Setup> {
  const project = await svc.make.project();
  const deployment = await svc.make.deployment(project.id, 'pending');
  switch (operation.key) {
    case 'post /deployment/webhook':
      return { path: '/deployment/webhook', token: project.secret, base: { id: deployment.id, status: 'building' }, control: 200 };
    case 'post /deployments/{id}/cancel':
      return { path: `/deployments/${deployment.id}/cancel`, token: svc.token, base: {}, control: 200 };
    case 'post /projects/{id}/deployment':
    case 'post /projects/{id}/deployments':
      return { path: operation.template.replace('{id}', String(project.id)), token: svc.token, base: {}, control: 201 };
    default:
      // A body-taking route this test does not know yet: its path ids are a project's, its body the documented example.
      return {
        path: operation.template.replace(/\{[^}]+\}/g, String(project.id)),
        token: svc.token,
        base: operation.body?.example ?? {},
        control: 0,
      };
  }
}

const cases = massAssignmentCases(openapiDocument);
const operations = [...new Map(cases.map((c) => [c.operation.key, c.operation])).values()];

it('covers every body-taking operation of the document', () => {
  expect(operations.map((o) => o.key)).toEqual(
    expect.arrayContaining([
      'post /projects/{id}/deployment',
      'post /projects/{id}/deployments',
      'post /deployments/{id}/cancel',
      'post /deployment/webhook',
    ]),
  );
  // The webhook's own fields are its input; every other protected field is refused.
  expect(cases.filter((c) => c.operation.key === 'post /deployment/webhook').map((c) => c.field)).not.toEqual(
    expect.arrayContaining(['id', 'status']),
  );
  expect(cases.filter((c) => c.operation.key === 'post /deployment/webhook').map((c) => c.field)).toEqual(
    expect.arrayContaining(['url', 'app_secret', 'appSecret', 'userId', 'projectId', 'createdAt', 'deployedIn', '__proto__']),
  );
});

describe.each(operations.map((o) => [o.key, o] as const))('%s', (_key, operation) => {
  it('refuses each protected field by name with a 400, writes nothing, and succeeds without it', async () => {
    const setup = await setupFor(operation);
    const send = (text: string) =>
      sendRaw(url, {
        method: operation.method.toUpperCase(),
        path: setup.path,
        headers: [
          ['Authorization', `Bearer ${setup.token}`],
          ['Content-Type', 'application/json'],
        ],
        body: Buffer.from(text),
      });
    for (const c of cases.filter((x) => x.operation.key === operation.key)) {
      const before = await tableDigests(svc.db);
      const res = await send(c.bodyText(setup.base));
      const body = res.body as { name?: string; issues?: Array<{ path: string; message: string }> };
      expect({ field: c.field, status: res.status, name: body.name }).toEqual({ field: c.field, status: 400, name: 'ValidationError' });
      expect(body.issues).toContainEqual({ path: `body.${c.field}`, message: expect.stringMatching(/^is not a field of this request/) });
      projectContract().check(operation.method, setup.path, res.status, res.body, res.contentType, res.headers);
      expect({ field: c.field, changed: await tableDigests(svc.db) }).toEqual({ field: c.field, changed: before });
    }
    const control = await send(JSON.stringify(setup.base));
    if (setup.control) expect(control.status).toBe(setup.control);
    else expect(control.status).toBeLessThan(300);
  });
});
