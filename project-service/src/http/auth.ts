import type { Middleware } from 'koa';
import { authenticate, createJwtVerifier } from '@hosting/shared';
import type { ProjectServiceConfig } from '../config.js';
import type { IdentityRepo } from './identity.repo.js';

/** The settings authentication reads (config.ts documents each one). */
export type AuthConfig = Pick<
  ProjectServiceConfig,
  | 'PROJECT_SERVICE_TOKEN'
  | 'AUTH_JWT_JWKS_URL'
  | 'AUTH_JWT_ISSUER'
  | 'AUTH_JWT_AUDIENCE'
  | 'AUTH_JWT_ALGORITHMS'
  | 'AUTH_JWT_ADMIN_CLAIM'
  | 'AUTH_JWT_ADMIN_VALUE'
  | 'AUTH_JWT_EMAIL_CLAIM'
  | 'AUTH_JWT_EMAIL_VERIFIED_CLAIM'
>;

/** True when JWT mode is on: the key set, the issuer and the audience are all configured. */
export function jwtModeOn(config: Pick<AuthConfig, 'AUTH_JWT_JWKS_URL' | 'AUTH_JWT_ISSUER' | 'AUTH_JWT_AUDIENCE'>): boolean {
  return Boolean(config.AUTH_JWT_JWKS_URL && config.AUTH_JWT_ISSUER && config.AUTH_JWT_AUDIENCE);
}

/**
 * The authentication of every API route: the static service token always; with JWT mode on, also
 * access tokens of the configured OpenID Connect provider (admin claim → everything; otherwise the
 * user the token maps to → that user's data only, see scope.ts). One verifier per app, so its key
 * set cache lives as long as the app.
 */
export function projectAuth(identities: Pick<IdentityRepo, 'findUser'>, config: AuthConfig): Middleware {
  if (!jwtModeOn(config)) return authenticate({ serviceToken: config.PROJECT_SERVICE_TOKEN });
  const verifier = createJwtVerifier({
    jwksUrl: config.AUTH_JWT_JWKS_URL!,
    issuer: config.AUTH_JWT_ISSUER!,
    audience: config.AUTH_JWT_AUDIENCE!,
    algorithms: config.AUTH_JWT_ALGORITHMS,
  });
  return authenticate({
    serviceToken: config.PROJECT_SERVICE_TOKEN,
    jwt: {
      verifier,
      adminClaim: { name: config.AUTH_JWT_ADMIN_CLAIM, value: config.AUTH_JWT_ADMIN_VALUE },
      emailClaim: config.AUTH_JWT_EMAIL_CLAIM,
      emailVerifiedClaim: config.AUTH_JWT_EMAIL_VERIFIED_CLAIM,
      findUser: identities.findUser,
    },
  });
}
