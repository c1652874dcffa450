import type { Middleware } from 'koa';
import { authenticate, createJwtVerifier, type Knex } from '@hosting/shared';
import { createIdentityRepo } from './identity.repo.js';

/** The settings authentication reads (config.ts documents each one). */
export interface AuthConfig {
  PROJECT_SERVICE_TOKEN: string;
  AUTH_JWT_JWKS_URL?: string;
  AUTH_JWT_ISSUER?: string;
  AUTH_JWT_AUDIENCE?: string;
  AUTH_JWT_ALGORITHMS?: readonly string[];
  AUTH_JWT_ADMIN_CLAIM?: string;
  AUTH_JWT_ADMIN_VALUE?: string;
  AUTH_JWT_EMAIL_CLAIM?: string;
  AUTH_JWT_EMAIL_VERIFIED_CLAIM?: string;
}

/** True when JWT mode is on: the key set, the issuer and the audience are all configured. */
export function jwtModeOn(config: AuthConfig): boolean {
  return Boolean(config.AUTH_JWT_JWKS_URL && config.AUTH_JWT_ISSUER && config.AUTH_JWT_AUDIENCE);
}

/**
 * The authentication of every API route: the static service token always; with JWT mode on, also
 * access tokens of the configured OpenID Connect provider (admin claim → everything; otherwise the
 * user the token maps to → that user's data only, see scope.ts). One verifier per app, so its key
 * set cache lives as long as the app.
 */
export function projectAuth(db: Knex, config: AuthConfig): Middleware {
  if (!jwtModeOn(config)) return authenticate({ serviceToken: config.PROJECT_SERVICE_TOKEN });
  const verifier = createJwtVerifier({
    jwksUrl: config.AUTH_JWT_JWKS_URL!,
    issuer: config.AUTH_JWT_ISSUER!,
    audience: config.AUTH_JWT_AUDIENCE!,
    ...(config.AUTH_JWT_ALGORITHMS ? { algorithms: config.AUTH_JWT_ALGORITHMS } : {}),
  });
  const identities = createIdentityRepo(db);
  return authenticate({
    serviceToken: config.PROJECT_SERVICE_TOKEN,
    jwt: {
      verifier,
      adminClaim: { name: config.AUTH_JWT_ADMIN_CLAIM ?? 'permissions', value: config.AUTH_JWT_ADMIN_VALUE ?? 'admin' },
      emailClaim: config.AUTH_JWT_EMAIL_CLAIM ?? 'email',
      emailVerifiedClaim: config.AUTH_JWT_EMAIL_VERIFIED_CLAIM ?? 'email_verified',
      findUser: identities.findUser,
    },
  });
}
