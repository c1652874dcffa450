import { randomUUID } from 'node:crypto';
import { AppError } from '@hosting/shared';
import { MAX_EVENT_BYTES, parseEventBatch } from './batch.js';

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
    ['a wrong catalogue payload', [event({}, { name: 'deployment.created' })], expect.arrayContaining(['body[0].payload.projectId', 'body[0].payload.status'])],
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
