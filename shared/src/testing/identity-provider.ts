import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';
import { listenLocally } from './listen.js';

/**
 * A stand-in OpenID Connect provider for tests: a real HTTP server on a free port serving a JSON
 * Web Key Set of freshly generated keys (an RSA one, `rsa-1`, and an EC one, `ec-1`), and a signer
 * for tokens with any claims, header, key or lifetime. `fail()` makes the key set answer 500 and
 * `stop()` closes the server, for the outage cases.
 */
export interface TestIdentityProvider {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** How many times the key set was fetched. */
  readonly fetches: number;
  /**
   * A token signed with the provider's RSA key (RS256, kid `rsa-1`) unless told otherwise. Claims
   * default to the provider's `iss` and `aud`, `iat` now and `exp` in 5 minutes.
   */
  sign(
    claims: JWTPayload,
    options?: {
      alg?: 'RS256' | 'ES256';
      kid?: string | null;
      key?: CryptoKey;
      expiresIn?: string | number | null;
      notBefore?: string | number;
      header?: Record<string, unknown>;
    },
  ): Promise<string>;
  /** A key pair the provider does not publish. */
  foreignKey(alg?: 'RS256' | 'ES256'): Promise<CryptoKey>;
  /** The published RSA public key as a JWK (for the HS256-with-the-public-key attack). */
  publicJwk: JWK;
  /** The key set answers 500 until `recover()`. */
  fail(): void;
  recover(): void;
  stop(): Promise<void>;
}

export async function startTestIdentityProvider(options: { audience?: string } = {}): Promise<TestIdentityProvider> {
  const rsa = await generateKeyPair('RS256', { extractable: true });
  const ec = await generateKeyPair('ES256', { extractable: true });
  const rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  const ecJwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' };
  let failing = false;
  let fetches = 0;
  const { url: base, close } = await listenLocally((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    if (failing) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('down');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [rsaJwk, ecJwk] }));
  });
  const issuer = `${base}/`;
  const audience = options.audience ?? 'https://api.hosting.test';

  return {
    jwksUrl: `${base}/.well-known/jwks.json`,
    issuer,
    audience,
    get fetches() {
      return fetches;
    },
    publicJwk: rsaJwk,
    async sign(claims, o = {}) {
      const alg = o.alg ?? 'RS256';
      const kid = o.kid === undefined ? (alg === 'RS256' ? 'rsa-1' : 'ec-1') : o.kid;
      const key = o.key ?? (alg === 'RS256' ? rsa.privateKey : ec.privateKey);
      let jwt = new SignJWT({ iss: issuer, aud: audience, ...claims })
        .setProtectedHeader({ alg, typ: 'JWT', ...(kid === null ? {} : { kid }), ...o.header })
        .setIssuedAt();
      if (o.expiresIn !== null) jwt = jwt.setExpirationTime(o.expiresIn ?? '5m');
      if (o.notBefore !== undefined) jwt = jwt.setNotBefore(o.notBefore);
      return jwt.sign(key);
    },
    async foreignKey(alg = 'RS256') {
      return (await generateKeyPair(alg)).privateKey;
    },
    fail() {
      failing = true;
    },
    recover() {
      failing = false;
    },
    stop() {
      return close();
    },
  };
}

/** `base64url(JSON)`, for hand-built tokens (`alg: none`, HS256 forgeries). */
export function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
