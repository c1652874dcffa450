import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { AppError, EVENT_NAMES, eventEnvelopeSchema } from '@hosting/shared';
import { FAST_PATH_APPLIES, MAX_EVENT_BYTES, parseEnvelope, parseEventBatch, serializedOf } from './batch.js';

const event = (payload: Record<string, unknown> = {}, rest: Record<string, unknown> = {}) => ({
  eventId: randomUUID(),
  name: 'build.started',
  occurredAt: '2026-11-20T10:00:00Z',
  payload,
  ...rest,
});

/** The error `parseEventBatch(body)` throws, as status, name and issue paths. */
function failure(body: unknown) {
  try {
    parseEventBatch(body);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { status: err.status, name: err.name, paths: (err.issues ?? []).map((i) => i.path) };
  }
  throw new Error('expected parseEventBatch to throw');
}

describe('parseEventBatch', () => {
  it('takes one event or an array, in order', () => {
    const a = event();
    const b = event({ projectId: 1 });
    expect(parseEventBatch(a)).toEqual([a]);
    expect(parseEventBatch([a, b])).toEqual([a, b]);
  });

  it('checks the count before anything else', () => {
    expect(failure(Array.from({ length: 501 }, () => 'junk'))).toMatchObject({ status: 413, name: 'PayloadTooLargeError' });
    expect(parseEventBatch(Array.from({ length: 500 }, () => event()))).toHaveLength(500);
  });

  it('measures each event in UTF-8 bytes, up to 32 kB', () => {
    const base = event({ text: '' });
    const room = MAX_EVENT_BYTES - Buffer.byteLength(JSON.stringify(base));
    expect(parseEventBatch(event({ text: 'x'.repeat(room) }, { eventId: base.eventId }))).toHaveLength(1);
    expect(failure(event({ text: 'x'.repeat(room + 1) }, { eventId: base.eventId }))).toMatchObject({ status: 413 });
    expect(failure([event(), event({ text: 'é'.repeat(room / 2 + 1) }, { eventId: base.eventId })])).toMatchObject({ status: 413 });
  });

  it.each([
    ['nothing', undefined, ['body']],
    ['null', null, ['body']],
    ['an empty batch', [], ['body']],
    ['a number', 3, ['body']],
    ['an unknown field', event({}, { extra: true }), ['body']],
    ['a bad id in an array', [event(), event({}, { eventId: 'x' })], ['body[1].eventId']],
    ['a nested path', [event({ projectId: 'x' })], ['body[0].payload.projectId']],
    [
      'a wrong catalogue payload',
      [event({}, { name: 'deployment.created' })],
      expect.arrayContaining(['body[0].payload.projectId', 'body[0].payload.status']),
    ],
    ['an id beyond integer', [event({ userId: 2 ** 31 })], ['body[0].payload.userId']],
    ['a NUL in a key', [event({ 'a\u0000': 1 })], ['body[0].payload']],
    ['a lone surrogate deep inside', [event({ a: [{ b: '\udc00' }] })], ['body[0].payload']],
    ['an instant before year 1', [event({}, { occurredAt: '0001-01-01T00:00:00+01:00' })], ['body[0].occurredAt']],
  ])('is a 400 for %s', (_what, body, paths) => {
    const f = failure(body);
    expect(f).toMatchObject({ status: 400, name: 'ValidationError' });
    expect(f.paths).toEqual(paths);
  });

  it('keeps escaped text that only looks like a NUL', () => {
    expect(parseEventBatch(event({ text: '\\u0000 and \\ud800' }))).toHaveLength(1);
  });

  it('reports at most 100 issues', () => {
    const f = failure(Array.from({ length: 200 }, () => event({}, { eventId: 'x' })));
    expect(f.paths).toHaveLength(100);
  });
});

describe('parseEnvelope (the cheap schema, then the envelope schema)', () => {
  it('applies: the envelope payload is still the record it replaces', () => {
    expect(FAST_PATH_APPLIES).toBe(true);
  });

  // Values near the valid ones: every field either right, wrong in type, wrong in form, or absent.
  const valid = {
    deploymentId: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    projectId: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    userId: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  };
  const junk = fc.oneof(
    fc.constant(null),
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.object({ maxDepth: 1 }),
  );
  const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ arbitrary: a, weight: 30 }, { arbitrary: junk, weight: 1 });
  const payload = fc.oneof(
    {
      weight: 20,
      arbitrary: fc.record(
        {
          projectId: maybe(valid.projectId),
          projectName: maybe(fc.string()),
          userId: maybe(valid.userId),
          deploymentId: maybe(valid.deploymentId),
          source: maybe(fc.constantFrom('api', 'webhook')),
          requestId: maybe(fc.oneof(fc.constant(null), fc.string({ maxLength: 130 }))),
          status: maybe(fc.constantFrom('pending', 'done')),
          from: maybe(fc.constantFrom('building', 'deploying', 'nope')),
          to: maybe(fc.constantFrom('deploying', 'done')),
          deployedIn: maybe(fc.oneof(fc.constant(null), fc.integer({ min: -2, max: 500 }))),
          url: maybe(fc.constantFrom('https://a.example', 'not a url')),
          extra: fc.anything({ maxDepth: 1 }),
        },
        { requiredKeys: [] },
      ),
    },
    { arbitrary: junk, weight: 1 },
  );
  const envelope = fc.record(
    {
      eventId: maybe(
        fc.oneof(
          fc.uuid({ version: 4 }),
          fc.uuid({ version: 4 }).map((u) => u.toUpperCase()),
          fc.constant('00000000-0000-0000-0000-000000000000'),
        ),
      ),
      name: maybe(fc.oneof(fc.constantFrom(...EVENT_NAMES), fc.constantFrom('build.started', 'Bad.Name', 'nodot', 'a.' + 'b'.repeat(99)))),
      occurredAt: maybe(
        fc.oneof(
          fc.date({ min: new Date('1900-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
          fc.constantFrom('2026-02-30T00:00:00Z', '2026-11-20T10:00:00+01:00', '2026-11-20 10:00'),
        ),
      ),
      payload,
    },
    { requiredKeys: ['eventId', 'name', 'occurredAt', 'payload'] },
  );
  const withExtraField = envelope.map((e) => ({ ...e, unexpected: 1 }));

  it('gives the same verdict and the same event as the envelope schema, for any input', () => {
    const seen = { fast: 0, valid: 0, invalid: 0 };
    fc.assert(
      fc.property(
        fc.oneof({ weight: 20, arbitrary: envelope }, { weight: 1, arbitrary: withExtraField }, { weight: 1, arbitrary: junk }),
        (input) => {
          // As the body parser hands it over: JSON.
          const item = JSON.parse(JSON.stringify(input)) as unknown;
          const ours = parseEnvelope(item);
          const theirs = eventEnvelopeSchema.safeParse(item);
          expect(ours.success).toBe(theirs.success);
          if (ours.success && theirs.success) {
            expect(ours.data).toEqual(theirs.data);
            expect(JSON.parse(serializedOf(ours.data))).toEqual(JSON.parse(JSON.stringify(theirs.data)));
          }
          if (!ours.success && !theirs.success) expect(ours.error.issues).toEqual(theirs.error.issues);
          seen[ours.success ? 'valid' : 'invalid']++;
          if (ours.success && ours.fast) seen.fast++;
        },
      ),
      { numRuns: 2_000 },
    );
    // Both verdicts were exercised, and valid events mostly took the cheap path.
    expect(seen.valid).toBeGreaterThan(100);
    expect(seen.invalid).toBeGreaterThan(100);
    expect(seen.fast).toBeGreaterThan(seen.valid * 0.9);
  });

  it('leaves a payload with a __proto__ key to the envelope schema, which drops that key', () => {
    const item = JSON.parse(
      `{"eventId":"${randomUUID()}","name":"build.started","occurredAt":"2026-11-20T10:00:00Z","payload":{"__proto__":{"x":1},"a":1}}`,
    );
    const ours = parseEnvelope(item);
    expect(ours).toMatchObject({ success: true, fast: false });
    const [stored] = parseEventBatch([item]);
    expect(JSON.parse(serializedOf(stored!)).payload).toEqual({ a: 1 });
  });

  it('stores the text that was sent when the cheap schema took the event', () => {
    const item = event({ projectId: 3, note: 'é' });
    const [parsed] = parseEventBatch([item]);
    expect(serializedOf(parsed!)).toBe(JSON.stringify(item));
  });
});
