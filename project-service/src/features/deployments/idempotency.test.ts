import { canonicalJson, idempotencyKeyHeader, requestFingerprint } from './idempotency.js';

describe('requestFingerprint', () => {
  it('is the same for the same operation, target and body, whatever the key order', () => {
    const a = requestFingerprint('op', 7, { a: 1, b: { c: [1, 2], d: null } });
    const b = requestFingerprint('op', '7', { b: { d: null, c: [1, 2] }, a: 1 });
    expect(a.equals(b)).toBe(true);
    expect(a).toHaveLength(32);
  });

  it('treats no body as {}', () => {
    expect(requestFingerprint('op', 7, undefined).equals(requestFingerprint('op', 7, {}))).toBe(true);
  });

  it('differs by operation, target and body', () => {
    const base = requestFingerprint('op', 7, {});
    expect(base.equals(requestFingerprint('other', 7, {}))).toBe(false);
    expect(base.equals(requestFingerprint('op', 8, {}))).toBe(false);
    expect(base.equals(requestFingerprint('op', 7, { x: 1 }))).toBe(false);
    expect(requestFingerprint('op', 7, { x: [1, 2] }).equals(requestFingerprint('op', 7, { x: [2, 1] }))).toBe(false);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: undefined, c: 'x' } })).toBe('{"a":{"c":"x"},"b":1}');
  });
});

describe('Idempotency-Key header', () => {
  const parse = (value: string | undefined) => idempotencyKeyHeader.safeParse({ 'Idempotency-Key': value }).success;
  it.each([
    ['a', true],
    ['x'.repeat(255), true],
    ['550e8400-e29b-41d4-a716-446655440000', true],
    ['with space and ~!', true],
    [undefined, true],
    ['', false],
    ['x'.repeat(256), false],
    ['tab\there', false],
    ['é', false],
    ['nul\u0000', false],
  ])('%j is accepted: %s', (value, ok) => {
    expect(parse(value)).toBe(ok);
  });
});
