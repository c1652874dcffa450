import { decodeCursor, encodeCursor } from './cursor.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('cursor', () => {
  it('round-trips a position to the microsecond', () => {
    const cursor = { occurredAt: '2026-11-20T10:00:00.123456Z', id: 9_007_199_254_740_991 };
    const encoded = encodeCursor(cursor);
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(encoded)).toEqual(cursor);
  });

  it.each([
    ['not base64url', '!!!'],
    ['empty', ''],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['an object', b64({ occurredAt: '2026-11-20T10:00:00.123456Z', id: 1 })],
    ['three members', b64(['2026-11-20T10:00:00.123456Z', 1, 2])],
    ['milliseconds only', b64(['2026-11-20T10:00:00.123Z', 1])],
    ['an offset', b64(['2026-11-20T10:00:00.123456+01:00', 1])],
    ['30 February', b64(['2026-02-30T10:00:00.000000Z', 1])],
    ['year 0000', b64(['0000-01-01T00:00:00.000000Z', 1])],
    ['id 0', b64(['2026-11-20T10:00:00.123456Z', 0])],
    ['a fractional id', b64(['2026-11-20T10:00:00.123456Z', 1.5])],
    ['an unsafe id', b64(['2026-11-20T10:00:00.123456Z', 2 ** 53])],
    ['a string id', b64(['2026-11-20T10:00:00.123456Z', '1'])],
    ['too long', 'A'.repeat(201)],
  ])('refuses %s', (_what, value) => {
    expect(decodeCursor(value)).toBeUndefined();
  });
});
