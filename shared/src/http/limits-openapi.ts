import { z } from 'zod';
import type { ZodOpenApiResponseObject } from 'zod-openapi';
import { errorResponse, retryAfterHeader } from './openapi-common.js';
import { LIMIT_DEFAULTS } from './limits/index.js';

/**
 * What the limits of limits/ and timeout.ts answer, as the documents show it: the
 * `RateLimit-*` headers, the `TooManyRequests` answer, and a paragraph for the description.
 * openapi.ts composes them into every document (and a 429 and a 503 into every operation behind
 * a credential).
 */

export const rateLimitHeaderSchemas = {
  'RateLimit-Limit': z
    .int()
    .min(1)
    .meta({
      description: 'The requests (or, for failed authentication, the 401s) the policy that was hit allows per window.',
      header: { id: 'RateLimit-Limit' },
    }),
  'RateLimit-Remaining': z
    .int()
    .min(0)
    .meta({
      description: 'What is left of it in this window: 0 on a 429.',
      header: { id: 'RateLimit-Remaining' },
    }),
  'RateLimit-Reset': z
    .int()
    .min(0)
    .meta({
      description: 'Seconds until the window ends and requests are admitted again (the same as `Retry-After`).',
      header: { id: 'RateLimit-Reset' },
    }),
  'RateLimit-Policy': z
    .string()
    .regex(/^[0-9]+;w=[0-9]+$/)
    .meta({ description: 'The policy that was hit: `<limit>;w=<window in seconds>`.', header: { id: 'RateLimit-Policy' } }),
};

export const tooManyRequestsResponse: ZodOpenApiResponseObject = errorResponse(
  'Too many requests (`TooManyRequestsError`): a failed authentication from a client address that earned too many 401s ' +
    'lately (instead of the 401), this credential made too many requests in the window, or (the webhook) this client address ' +
    'already has as many requests in progress as may be whose credential is not verified yet. Try again after `Retry-After` seconds.',
  { status: 429, message: 'Too many failed authentication attempts from this address; try again in 42 s' },
  { 'Retry-After': retryAfterHeader, ...rateLimitHeaderSchemas },
);

export const REQUEST_TIMEOUT_SENTENCE = `Also when the request was not done within the request timeout (\`REQUEST_TIMEOUT_MS\`, ${LIMIT_DEFAULTS.REQUEST_TIMEOUT_MS / 1000} s by default).`;

export function limitsParagraph(): string {
  const d = LIMIT_DEFAULTS;
  return `**Limits.** Every operation behind a credential can answer \`429 TooManyRequestsError\` with \`Retry-After\`
and \`RateLimit-Limit\`, \`RateLimit-Remaining\`, \`RateLimit-Reset\`, \`RateLimit-Policy\` (on 429 answers only):
after ${d.RATE_LIMIT_AUTH_FAILURES} failed authentications (401) from one client address within ${d.RATE_LIMIT_AUTH_WINDOW_S} s, each further failure of
that address until the window ends (a credential that verifies is never refused); and beyond ${d.RATE_LIMIT_PER_CREDENTIAL.toLocaleString('en')} requests of one
credential per ${d.RATE_LIMIT_PER_CREDENTIAL_WINDOW_S} s (defaults; counted per instance). A credential that can only be checked against the database
(the webhook's app secret) and has not succeeded lately needs one of ${d.UNVERIFIED_MAX_TOTAL} slots, ${d.UNVERIFIED_MAX_PER_ADDRESS} per client address, and waits
for one up to 1 s: then a \`429\` (its address holds its slots) or \`503\` (others hold them). A request not done within ${d.REQUEST_TIMEOUT_MS / 1000} s is a \`503\` with
\`Retry-After\`; a stream is exempt once it has started. Bodies larger than an operation accepts are a \`413\`.`;
}
