import { createHash } from 'node:crypto';
import { AppError } from '@hosting/shared';
import { z } from 'zod';

/**
 * `Idempotency-Key` on `POST /projects/:id/deployment`, as Stripe has it: the same key with the
 * same request answers what the first request answered and creates nothing; the same key with
 * another request is a 422; keys expire after 24 hours. The pure pieces are here; the statement
 * that settles races is in deployments.repo.ts, the retry rules in deployments.service.ts.
 */

/** How long a key is remembered. Older keys count as absent. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

/** 1–255 printable ASCII characters (space to `~`): a UUID, a hash, an order number all fit. */
export const idempotencyKeyHeader = z.object({
  'Idempotency-Key': z
    .string()
    .regex(/^[\x20-\x7E]{1,255}$/, 'must be 1 to 255 printable ASCII characters')
    .optional()
    .meta({
      description:
        'Your unique key for this request (1–255 printable ASCII characters; a UUID is a good choice). Retrying with it ' +
        'within 24 hours answers the first answer again instead of creating another deployment; reusing it for a ' +
        'different request is a 422. Anything else in the header is a 400 naming `header.Idempotency-Key`.',
      param: { id: 'Idempotency-Key' },
    }),
});

/** What a keyed request carries down to the statement. */
export interface IdempotentRequest {
  /** Whose key it is (the principal's key): two callers' keys never meet. */
  scope: string;
  key: string;
  /** SHA-256 of what the request asks for (see requestFingerprint). */
  fingerprint: Buffer;
}

/** JSON with object keys sorted, so that `{"a":1,"b":2}` and `{"b":2,"a":1}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The fingerprint of a request: the operation (not the literal path, so a retry through the
 * `/deployments` alias is the same request), its target and its canonical body.
 */
export function requestFingerprint(operation: string, target: string | number, body: unknown): Buffer {
  return createHash('sha256')
    .update(canonicalJson([operation, String(target), body ?? {}]), 'utf8')
    .digest();
}

/** The same key with a different request: Stripe's answer, a 422. */
export class IdempotencyKeyReusedError extends AppError {
  constructor(message = 'This Idempotency-Key was already used for a different request; retry with the same request, or use a new key') {
    super(422, 'IdempotencyKeyReusedError', message);
  }
}
