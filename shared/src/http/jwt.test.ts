import { createHmac, createPublicKey } from 'node:crypto';
import { base64urlJson, startTestIdentityProvider, type TestIdentityProvider } from '../testing/identity-provider.js';
import {
  claimHolds,
  createJwtVerifier,
  JwksUnavailableError,
  JwtRejectedError,
  looksLikeJwt,
  principalOfClaims,
  type JwtAuthOptions,
  type VerifiedClaims,
} from './jwt.js';

let idp: TestIdentityProvider;
beforeAll(async () => {
  idp = await startTestIdentityProvider();
});
afterAll(() => idp.stop());

const verifierFor = (o: { jwksUrl?: string; cooldownMs?: number; algorithms?: string[] } = {}) =>
  createJwtVerifier({
    jwksUrl: o.jwksUrl ?? idp.jwksUrl,
    issuer: idp.issuer,
    audience: idp.audience,
    algorithms: o.algorithms ?? ['RS256', 'ES256'],
    jwks: { timeoutMs: 1_000, ...(o.cooldownMs !== undefined ? { cooldownMs: o.cooldownMs } : {}) },
  });

const now = () => Math.floor(Date.now() / 1000);

/** An HMAC-SHA256 token keyed with `secret`, header and claims as given. */
function hs256(header: object, claims: object, secret: string | Buffer): string {
  const input = `${base64urlJson(header)}.${base64urlJson(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

async function rejection(verifier: ReturnType<typeof verifierFor>, token: string): Promise<string> {
  const err = await verifier.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JwtRejectedError);
  return (err as JwtRejectedError).reason;
}

describe('createJwtVerifier', () => {
  const verifier = () => verifierFor();

  it('accepts a token of the provider, RS256 or ES256, and returns its claims', async () => {
    const v = verifier();
    await expect(v.verify(await idp.sign({ sub: 'auth0|a' }))).resolves.toMatchObject({
      sub: 'auth0|a',
      iss: idp.issuer,
      aud: idp.audience,
    });
    await expect(v.verify(await idp.sign({ sub: 'auth0|b' }, { alg: 'ES256' }))).resolves.toMatchObject({ sub: 'auth0|b' });
  });

  it.each<[string, () => Promise<string>, RegExp]>([
    ['expired', () => idp.sign({ sub: 'x', iat: now() - 120 }, { expiresIn: now() - 60 }), /ERR_JWT_EXPIRED/],
    ['not yet valid', () => idp.sign({ sub: 'x' }, { notBefore: now() + 60 }), /ERR_JWT_CLAIM_VALIDATION_FAILED.*nbf/],
    ['for another audience', () => idp.sign({ sub: 'x', aud: 'https://other.api' }), /ERR_JWT_CLAIM_VALIDATION_FAILED.*aud/],
    ['from another issuer', () => idp.sign({ sub: 'x', iss: 'https://evil.example/' }), /ERR_JWT_CLAIM_VALIDATION_FAILED.*iss/],
    [
      'signed by another key under a published kid',
      async () => idp.sign({ sub: 'x' }, { key: await idp.foreignKey() }),
      /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/,
    ],
    ['naming a kid the key set lacks', () => idp.sign({ sub: 'x' }, { kid: 'rsa-2' }), /ERR_JWKS_NO_MATCHING_KEY/],
    [
      'unsecured (alg none)',
      async () =>
        `${base64urlJson({ alg: 'none', typ: 'JWT' })}.${base64urlJson({ sub: 'x', iss: idp.issuer, aud: idp.audience, exp: now() + 60 })}.`,
      /ERR_JOSE_ALG_NOT_ALLOWED/,
    ],
    [
      'HS256 keyed with the published public key',
      async () => {
        const pem = createPublicKey({ key: idp.publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({
          type: 'spki',
          format: 'pem',
        });
        return hs256({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' }, { sub: 'x', iss: idp.issuer, aud: idp.audience, exp: now() + 60 }, pem);
      },
      /ERR_JOSE_ALG_NOT_ALLOWED/,
    ],
    ['without exp', () => idp.sign({ sub: 'x' }, { expiresIn: null }), /ERR_JWT_CLAIM_VALIDATION_FAILED.*exp/],
    ['without sub', () => idp.sign({}), /ERR_JWT_CLAIM_VALIDATION_FAILED.*sub/],
    ['garbage', async () => 'abc.def.ghi', /ERR_JWS_INVALID|ERR_JWT_INVALID/],
  ])('rejects a token %s', async (_case, make, reason) => {
    expect(await rejection(verifier(), await make())).toMatch(reason);
  });

  it('refuses symmetric or unsigned algorithms in the allow-list itself', () => {
    expect(() => verifierFor({ algorithms: ['RS256', 'HS256'] })).toThrow(/refused: HS256/);
    expect(() => verifierFor({ algorithms: ['none'] })).toThrow(/refused: none/);
    expect(() => verifierFor({ algorithms: [] })).toThrow(/empty list/);
  });

  it('rejects an ES256 token when only RS256 is allowed', async () => {
    const token = await idp.sign({ sub: 'x' }, { alg: 'ES256' });
    expect(await rejection(verifierFor({ algorithms: ['RS256'] }), token)).toMatch(/ERR_JOSE_ALG_NOT_ALLOWED/);
  });

  it('fetches the key set once for many tokens, and an unknown kid refetches it at most once per cooldown', async () => {
    const v = verifier();
    const before = idp.fetches;
    for (let i = 0; i < 5; i++) await v.verify(await idp.sign({ sub: `s${i}` }));
    expect(idp.fetches - before).toBe(1);
    for (let i = 0; i < 5; i++) await rejection(v, await idp.sign({ sub: 'x' }, { kid: `unknown-${i}` }));
    expect(idp.fetches - before).toBe(1); // fetched less than the 30 s cooldown ago: no refetch
  });

  it('says the key set is unavailable (not that the token is bad) when it answers 500 or nobody listens', async () => {
    const token = await idp.sign({ sub: 'x' });
    idp.fail();
    try {
      await expect(verifier().verify(token)).rejects.toBeInstanceOf(JwksUnavailableError);
    } finally {
      idp.recover();
    }
    const down = verifierFor({ jwksUrl: 'http://127.0.0.1:1/.well-known/jwks.json' });
    await expect(down.verify(token)).rejects.toBeInstanceOf(JwksUnavailableError);
  });
});

describe('looksLikeJwt', () => {
  it.each(['a.b.c', 'eyJ.eyJ.', 'A-_.b_-.c'])('takes %p for a JWT', (t) => expect(looksLikeJwt(t)).toBe(true));
  it.each(['abc', 'a.b', 'a.b.c.d', 'a..c', 'a.b.c=', 'a+b.c.d'])('does not take %p for one', (t) => expect(looksLikeJwt(t)).toBe(false));
});

describe('claimHolds', () => {
  it.each<[unknown, boolean]>([
    [['read:projects', 'admin'], true],
    ['admin', true],
    ['openid admin email', true],
    [['administrator'], false],
    ['administrator', false],
    [{ admin: true }, false],
    [true, false],
    [undefined, false],
  ])('permissions = %p → %p', (claim, holds) => expect(claimHolds({ permissions: claim }, 'permissions', 'admin')).toBe(holds));
});

describe('principalOfClaims', () => {
  const claims = (extra: object = {}): VerifiedClaims => ({ iss: 'https://idp/', sub: 'auth0|42', exp: now() + 60, ...extra });
  const seen: unknown[] = [];
  const options: JwtAuthOptions = {
    verifier: undefined as never,
    adminClaim: { name: 'permissions', value: 'admin' },
    emailClaim: 'email',
    emailVerifiedClaim: 'email_verified',
    async findUser(identity) {
      seen.push(identity);
      return identity.subject === 'auth0|42' || identity.email === 'a@example.com' ? 7 : undefined;
    },
  };
  beforeEach(() => (seen.length = 0));

  it('makes an admin of the admin claim, without looking for a user', async () => {
    await expect(principalOfClaims(claims({ permissions: ['admin'] }), options)).resolves.toEqual({
      kind: 'admin',
      key: 'jwt:https://idp/|auth0|42',
      subject: 'auth0|42',
    });
    expect(seen).toEqual([]);
  });

  it('maps a user, keyed by issuer and subject', async () => {
    await expect(principalOfClaims(claims(), options)).resolves.toEqual({
      kind: 'user',
      key: 'jwt:https://idp/|auth0|42',
      subject: 'auth0|42',
      userId: 7,
    });
  });

  it('passes the email on only when email_verified is the boolean true', async () => {
    const other = { sub: 'google|1', email: 'a@example.com' };
    await expect(principalOfClaims(claims({ ...other, email_verified: true }), options)).resolves.toMatchObject({
      kind: 'user',
      userId: 7,
    });
    for (const verified of [false, 'true', undefined]) {
      await expect(principalOfClaims(claims({ ...other, email_verified: verified }), options)).resolves.toBeUndefined();
    }
    expect(seen).toEqual([
      { issuer: 'https://idp/', subject: 'google|1', email: 'a@example.com' },
      { issuer: 'https://idp/', subject: 'google|1' },
      { issuer: 'https://idp/', subject: 'google|1' },
      { issuer: 'https://idp/', subject: 'google|1' },
    ]);
  });
});
