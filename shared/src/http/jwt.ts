import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Middleware } from 'koa';
import { ServiceUnavailableError, UnauthorizedError } from '../errors.js';
import { bearerToken, secretsEqual } from './auth.js';
import type { Principal } from './request-context.js';

/**
 * The signature algorithms a JWT may name. Asymmetric only: the key set is public, so an HMAC
 * algorithm would let anyone holding a public key sign (the RS256→HS256 confusion), and `none`
 * is no signature at all. Which of these a deployment accepts is its allow-list (config).
 */
export const ASYMMETRIC_JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type JwtAlgorithm = (typeof ASYMMETRIC_JWT_ALGORITHMS)[number];

/** What an OpenID Connect provider's access tokens are checked against. */
export interface JwtVerifierOptions {
  /** The provider's JSON Web Key Set, e.g. `https://<tenant>.auth0.com/.well-known/jwks.json`. */
  jwksUrl: string;
  /** The exact `iss`, e.g. `https://<tenant>.auth0.com/` (Auth0's ends with a slash). */
  issuer: string;
  /** The `aud` this API is known by at the provider (Auth0: the API identifier). */
  audience: string;
  /** The allow-list (AUTH_JWT_ALGORITHMS). Anything outside ASYMMETRIC_JWT_ALGORITHMS is refused. */
  algorithms: readonly string[];
  /** Leeway for `exp`, `nbf` and `iat` against clock skew. Default 5 s. */
  clockToleranceSeconds?: number;
  /** How long one fetch of the key set may take (default 3 s), how long fetched keys are used before a refetch (default 10 min), and the least time between two refetches caused by an unknown `kid` (default 30 s). */
  jwks?: { timeoutMs?: number; cacheMaxAgeMs?: number; cooldownMs?: number };
}

/** The token was not accepted: expired, wrong audience or issuer, bad signature, unknown key… `reason` is for the log only. */
export class JwtRejectedError extends Error {
  /** jose's error code (e.g. `ERR_JWT_EXPIRED`), when jose refused it. */
  readonly code: string | undefined;
  constructor(
    readonly reason: string,
    code?: string,
  ) {
    super(`JWT rejected: ${reason}`);
    this.code = code;
    this.name = 'JwtRejectedError';
  }
}

/** The provider's key set could not be had (down, timed out, not a 200, not a key set): not the caller's fault. */
export class JwksUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`JSON Web Key Set unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'JwksUnavailableError';
  }
}

/** Verified claims: `sub` and `exp` are always present. */
export type VerifiedClaims = JWTPayload & { sub: string; iss: string; exp: number };

/** Three base64url segments, the last possibly empty (an unsecured token): worth verifying as a JWT. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}

/**
 * Verifies access tokens of one provider with `jose`: signature against the provider's key set
 * (fetched with `createRemoteJWKSet`, cached, refetched at most once per cooldown for an unknown
 * `kid`), `iss`, `aud`, `exp`/`nbf` with a small tolerance, and an algorithm allow-list checked
 * before any key is looked up.
 */
export function createJwtVerifier(options: JwtVerifierOptions) {
  const algorithms = [...options.algorithms];
  const allowed = new Set<string>(ASYMMETRIC_JWT_ALGORITHMS);
  const refused = algorithms.filter((a) => !allowed.has(a));
  if (algorithms.length === 0 || refused.length > 0) {
    throw new Error(
      `JWT algorithms must be asymmetric (${ASYMMETRIC_JWT_ALGORITHMS.join(', ')}); refused: ${refused.join(', ') || '(empty list)'}`,
    );
  }
  const remote = createRemoteJWKSet(new URL(options.jwksUrl), {
    timeoutDuration: options.jwks?.timeoutMs ?? 3_000,
    cacheMaxAge: options.jwks?.cacheMaxAgeMs ?? 600_000,
    cooldownDuration: options.jwks?.cooldownMs ?? 30_000,
  });
  // A token naming a key the set does not hold is the token's problem; anything else the key set
  // throws (refused connection, timeout, a non-200, malformed JSON, a malformed key) is the provider's.
  const getKey: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      throw new JwksUnavailableError(err);
    }
  };

  return {
    /** The token's claims once every check passed; JwtRejectedError or JwksUnavailableError otherwise. */
    async verify(token: string): Promise<VerifiedClaims> {
      try {
        const { payload } = await jwtVerify(token, getKey, {
          issuer: options.issuer,
          audience: options.audience,
          algorithms,
          clockTolerance: options.clockToleranceSeconds ?? 5,
          requiredClaims: ['sub', 'exp'],
        });
        if (typeof payload.sub !== 'string' || payload.sub === '') throw new JwtRejectedError('"sub" claim is empty');
        return payload as VerifiedClaims;
      } catch (err) {
        if (err instanceof JwksUnavailableError || err instanceof JwtRejectedError) throw err;
        if (err instanceof errors.JOSEError) throw new JwtRejectedError(`${err.code}: ${err.message}`, err.code);
        throw new JwtRejectedError(err instanceof Error ? err.message : String(err));
      }
    },
  };
}

export type JwtVerifier = ReturnType<typeof createJwtVerifier>;

/**
 * True when claim `name` of `claims` holds `value`: equal to it, an array containing it (Auth0's
 * `permissions`, a roles claim), or a space-separated list containing it (`scope`).
 */
export function claimHolds(claims: JWTPayload, name: string, value: string): boolean {
  const claim = claims[name];
  if (typeof claim === 'string') return claim === value || claim.split(' ').includes(value);
  return Array.isArray(claim) && claim.includes(value);
}

/** Who a verified, non-admin token says its bearer is, for mapping to one of our users. */
export interface TokenIdentity {
  issuer: string;
  subject: string;
  /** Only when the provider says the address is verified (see `emailVerifiedClaim`). */
  email?: string;
}

export interface JwtAuthOptions {
  verifier: JwtVerifier;
  /** A token whose claim `name` holds `value` (see claimHolds) is an admin: it sees everything. */
  adminClaim: { name: string; value: string };
  /** The claims carrying the email address and whether the provider verified it (AUTH_JWT_EMAIL_CLAIM, AUTH_JWT_EMAIL_VERIFIED_CLAIM). */
  emailClaim: string;
  emailVerifiedClaim: string;
  /** Our user for a verified identity, or undefined when none matches. */
  findUser(identity: TokenIdentity): Promise<number | undefined>;
}

/**
 * The principal of a verified token: admin when the admin claim holds, else the user it maps to,
 * else undefined. The email counts only when the verified-email claim is the boolean `true`: an
 * unverified address is whatever someone typed at sign-up, and mapping it would hand them the
 * account of whoever really owns it.
 */
export async function principalOfClaims(claims: VerifiedClaims, options: JwtAuthOptions): Promise<Principal | undefined> {
  const key = `jwt:${claims.iss}|${claims.sub}`;
  if (claimHolds(claims, options.adminClaim.name, options.adminClaim.value)) return { kind: 'admin', key, subject: claims.sub };
  const email = claims[options.emailClaim];
  const verified = claims[options.emailVerifiedClaim] === true;
  const identity: TokenIdentity = {
    issuer: claims.iss,
    subject: claims.sub,
    ...(verified && typeof email === 'string' && email !== '' ? { email } : {}),
  };
  const userId = await options.findUser(identity);
  return userId === undefined ? undefined : { kind: 'user', key, subject: claims.sub, userId };
}

/**
 * Authentication of the API routes. `Authorization: Bearer <token>` where the token is
 *  - the static service token (constant-time compare) → the `service` principal;
 *  - with JWT mode on, a JWT the verifier accepts → an `admin` or `user` principal.
 * Anything else, an unmapped token included, is the same 401 (the reason goes to the request's
 * log at info, never the token). A key set that cannot be fetched is a 503 with Retry-After.
 */
export function authenticate(options: { serviceToken: string; jwt?: JwtAuthOptions }): Middleware {
  const { serviceToken, jwt } = options;
  return async function auth(ctx, next) {
    const token = bearerToken(ctx.get('Authorization') || undefined);
    if (token === undefined) throw new UnauthorizedError();
    if (secretsEqual(token, serviceToken)) {
      ctx.state.principal = { kind: 'service', key: 'service' } satisfies Principal;
      await next();
      return;
    }
    if (!jwt || !looksLikeJwt(token)) throw new UnauthorizedError();
    const log = (ctx.state as { log?: { info(o: object, m: string): void } }).log;
    let principal: Principal | undefined;
    try {
      const claims = await jwt.verifier.verify(token);
      principal = await principalOfClaims(claims, jwt);
      if (!principal)
        log?.info({ auth: 'jwt', iss: claims.iss, sub: claims.sub }, 'JWT verified but no user matches its subject or verified email');
    } catch (err) {
      // Logged once, with its cause, by the error middleware (a 5xx).
      if (err instanceof JwksUnavailableError)
        throw new ServiceUnavailableError("The identity provider's keys could not be fetched; try again shortly", 5, err);
      if (!(err instanceof JwtRejectedError)) throw err;
      log?.info({ auth: 'jwt', reason: err.reason }, 'JWT rejected');
      // jose checks `exp` only once the signature holds: an expired token is a stale session (a
      // panel polling after its login ran out), not a guess, and must not lock its address out
      // (the failed-authentication limit skips a 401 marked so; limits/failed-auth.ts). Same 401 body.
      if (err.code === 'ERR_JWT_EXPIRED') throw Object.assign(new UnauthorizedError(), { countsAsGuess: false });
    }
    if (!principal) throw new UnauthorizedError();
    ctx.state.principal = principal;
    await next();
  };
}
