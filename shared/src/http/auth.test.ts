import { bearerToken, secretMatchesDigest, secretsEqual, sha256 } from './auth.js';

describe('secretsEqual', () => {
  it('accepts the same secret', () => expect(secretsEqual('s3cret-value', 's3cret-value')).toBe(true));
  it('refuses a different secret of the same length', () => expect(secretsEqual('s3cret-valuf', 's3cret-value')).toBe(false));
  it('refuses a prefix, and an empty or a 10 kB token, without throwing', () => {
    expect(secretsEqual('s3cret', 's3cret-value')).toBe(false);
    expect(secretsEqual('', 's3cret-value')).toBe(false);
    expect(secretsEqual('x'.repeat(10_240), 's3cret-value')).toBe(false);
  });
});

describe('secretMatchesDigest', () => {
  it('matches the digest of the secret only', () => {
    expect(secretMatchesDigest('abc', sha256('abc'))).toBe(true);
    expect(secretMatchesDigest('abd', sha256('abc'))).toBe(false);
  });
  it('refuses a stored digest of the wrong length', () => expect(secretMatchesDigest('abc', Buffer.alloc(3))).toBe(false));
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc ', 'abc'],
  ])('reads %p', (header, token) => expect(bearerToken(header)).toBe(token));
  it.each([undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'Bearerabc'])('refuses %p', (header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});
