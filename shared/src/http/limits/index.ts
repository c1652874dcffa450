/**
 * The limits of both services (README "Limits"): the policies and their stores, the
 * failed-authentication and per-credential limits, the cap on unverified work, their settings,
 * and `createHttpLimits`, which builds an app's set of them from its config.
 */
export * from './policy.js';
export * from './failed-auth.js';
export * from './per-credential.js';
export * from './unverified-work.js';
export * from './config.js';
export * from './http-limits.js';
export * from './trust-proxy.js';
export * from './postgres-store.js';
