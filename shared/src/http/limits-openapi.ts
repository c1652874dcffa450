import { HTTP_METHODS, openapiErrorResponse, type OpenApiDocument, type OpenApiHeader, type OpenApiResponse } from './docs.js';
import { LIMIT_DEFAULTS } from './limits/index.js';

const ref = (to: string) => ({ $ref: to });

export const openapiRateLimitHeaders: Record<string, OpenApiHeader> = {
  'RateLimit-Limit': {
    description: 'The requests (or, for failed authentication, the 401s) the policy that was hit allows per window.',
    required: true,
    schema: { type: 'integer', minimum: 1 },
  },
  'RateLimit-Remaining': {
    description: 'What is left of it in this window: 0 on a 429.',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
  'RateLimit-Reset': {
    description: 'Seconds until the window ends and requests are admitted again (the same as `Retry-After`).',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
  'RateLimit-Policy': {
    description: 'The policy that was hit: `<limit>;w=<window in seconds>`.',
    required: true,
    schema: { type: 'string', pattern: '^[0-9]+;w=[0-9]+$' },
  },
};

function limitsParagraph(): string {
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

/**
 * Adds what the limits of shared/src/http/limits/ and timeout.ts answer to a service's
 * document, in place: the `TooManyRequests` response and the `RateLimit-*` headers as components,
 * a `429` (and a `503`, for the request timeout, where it is missing) on every operation that takes
 * a credential, the request timeout in the `ServiceUnavailable` response, and a paragraph on the
 * limits in the description. Call it once, right after the document is written.
 */
export function addLimitsToDocument(document: OpenApiDocument): OpenApiDocument {
  const components = (document.components ??= {});
  components.headers = { ...components.headers, ...openapiRateLimitHeaders };
  components.responses ??= {};
  components.responses.TooManyRequests = openapiErrorResponse(
    'Too many requests (`TooManyRequestsError`): a failed authentication from a client address that earned too many 401s ' +
      'lately (instead of the 401), this credential made too many requests in the window, or (the webhook) this client address ' +
      'already has as many requests in progress as may be whose credential is not verified yet. Try again after `Retry-After` seconds.',
    { status: 429, message: 'Too many failed authentication attempts from this address; try again in 42 s' },
    {
      'Retry-After': ref('#/components/headers/Retry-After'),
      'RateLimit-Limit': ref('#/components/headers/RateLimit-Limit'),
      'RateLimit-Remaining': ref('#/components/headers/RateLimit-Remaining'),
      'RateLimit-Reset': ref('#/components/headers/RateLimit-Reset'),
      'RateLimit-Policy': ref('#/components/headers/RateLimit-Policy'),
    },
  );
  const unavailable = components.responses.ServiceUnavailable as OpenApiResponse | undefined;
  if (unavailable && !unavailable.description.includes('REQUEST_TIMEOUT_MS')) {
    unavailable.description += ` Also when the request was not done within the request timeout (\`REQUEST_TIMEOUT_MS\`, ${LIMIT_DEFAULTS.REQUEST_TIMEOUT_MS / 1000} s by default).`;
  }
  for (const item of Object.values(document.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const security = operation.security ?? document.security ?? [];
      const secured = security.length > 0 && security.every((requirement) => Object.keys(requirement).length > 0);
      if (!secured) continue;
      operation.responses['429'] ??= ref('#/components/responses/TooManyRequests');
      operation.responses['503'] ??= ref('#/components/responses/ServiceUnavailable');
    }
  }
  if (document.info.description && !document.info.description.includes('**Limits.**')) {
    document.info.description += `\n\n${limitsParagraph()}`;
  }
  return document;
}
