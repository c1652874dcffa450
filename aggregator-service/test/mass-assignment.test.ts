import { listenLocally, massAssignmentCases, sendRaw, tableDigests } from '@hosting/shared/testing';
import { openapiDocument } from '../src/openapi/document.js';
import { aggregatorContract, deploymentCreated, testService, type TestService } from './helpers.js';

/**
 * Mass assignment (issue 6) at the aggregator: an event envelope is `eventId`, `name`,
 * `occurredAt`, `payload` and nothing else, so a sender cannot choose the store's `id`,
 * `createdAt` or the columns copied from the payload. Each protected field beside the envelope's
 * own, in a single event and in a batch, is a 400 naming it, and nothing of the request is stored.
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

const cases = massAssignmentCases(openapiDocument);

it('covers the body-taking operations of the document', () => {
  expect([...new Set(cases.map((c) => c.operation.key))]).toEqual(['post /events']);
  expect(cases.map((c) => c.field)).toEqual(
    expect.arrayContaining(['id', 'createdAt', 'created_at', 'projectId', 'userId', 'status', '__proto__']),
  );
  expect(cases.map((c) => c.field)).not.toEqual(expect.arrayContaining(['eventId']));
});

it.each(cases.map((c) => [c.field, c] as const))(
  '%s beside an envelope: 400 naming it, single or in a batch, nothing stored',
  async (field, c) => {
    for (const batch of [false, true]) {
      const event = deploymentCreated();
      const text = c.bodyText(event);
      const before = await tableDigests(svc.db);
      const res = await sendRaw(url, {
        method: 'POST',
        path: '/events',
        headers: [
          ['Authorization', `Bearer ${svc.token}`],
          ['Content-Type', 'application/json'],
        ],
        body: Buffer.from(batch ? `[${JSON.stringify(deploymentCreated())},${text}]` : text),
      });
      const body = res.body as { name?: string; message?: string; issues?: Array<{ path: string; message: string }> };
      expect({ field, batch, status: res.status, name: body.name }).toEqual({ field, batch, status: 400, name: 'ValidationError' });
      // The field is named: in the issue's path, or (zod's report of unknown keys) in its message.
      const named = (body.issues ?? []).some((i) => i.path.endsWith(`.${field}`) || i.message.includes(`"${field}"`));
      expect({ field, batch, named, issues: body.issues }).toEqual({ field, batch, named: true, issues: body.issues });
      aggregatorContract().check('post', '/events', res.status, res.body, res.contentType, res.headers);
      expect(await tableDigests(svc.db)).toEqual(before);
    }
    // The envelope alone is stored: the field was what got refused.
    const ok = await svc.call('post', '/events', { body: deploymentCreated() });
    expect(ok.body.stored).toBe(1);
  },
);
