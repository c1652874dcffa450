import { createHash, timingSafeEqual } from 'node:crypto';
import type { Middleware } from 'koa';
import { UnauthorizedError } from '../errors.js';

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Compares a presented secret with a known one in constant time and whatever their lengths:
 * both sides are hashed to 32 bytes first, so neither the content nor the length leaks.
 */
export function secretsEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

/** Compares a presented secret with the SHA-256 digest we keep of the real one. */
export function secretMatchesDigest(presented: string, digest: Buffer): boolean {
  return digest.length === 32 && timingSafeEqual(sha256(presented), digest);
}

/** The credential of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
  return match?.[1];
}

/** Admits only requests that carry `Authorization: Bearer <expected>`, as the `service` principal. */
export function requireBearer(expected: string): Middleware {
  return async function auth(ctx, next) {
    const token = bearerToken(ctx.get('Authorization') || undefined);
    if (token === undefined || !secretsEqual(token, expected)) throw new UnauthorizedError();
    ctx.state.principal = { kind: 'service', key: 'service' };
    await next();
  };
}
