import { z } from 'zod';
import { AppError, ValidationError, eventEnvelopeSchema, unstorableText, type EventEnvelope, type FieldIssue } from '@hosting/shared';
import { isStorableInstant } from './instant.js';
import { rememberSerialized } from './serialized.js';
import { INT4_MAX } from './events.schema.js';

/**
 * The envelope schema with one part made cheap: `payload`, a `z.record(z.string(), z.unknown())`,
 * which zod checks by copying every key into a new object (the largest part of an event's cost in
 * the ingest profile, see WRITEUP.md). On a JSON body that record accepts exactly the plain
 * objects, and copies all their keys but `__proto__`; this schema accepts the plain objects
 * without a `__proto__` key and keeps the object as it is. Everything else is the envelope's own:
 * zod's `safeExtend` keeps the other fields' schemas, the strictness and the refinement that
 * checks the catalogue payload, so they cannot drift. What this schema refuses goes through
 * `eventEnvelopeSchema`, which has the last word and names the issues (batch.test.ts holds the two
 * to the same verdicts).
 */
const plainPayload = z.custom<Record<string, unknown>>((v) => z.core.util.isPlainObject(v) && !Object.hasOwn(v, '__proto__'));
const fastEnvelopeSchema = eventEnvelopeSchema.safeExtend({ payload: plainPayload });

/** Whether the cheap schema applies: the envelope's payload is still the record it replaces (zod's public classes and `def`). */
export const FAST_PATH_APPLIES = (() => {
  const { payload } = eventEnvelopeSchema.shape;
  return (
    payload instanceof z.ZodRecord &&
    payload.keyType instanceof z.ZodString &&
    !payload.keyType.def.checks?.length &&
    payload.valueType instanceof z.ZodUnknown
  );
})();

/** Parses one event: the cheap schema first, the envelope's for anything it refuses. */
export function parseEnvelope(
  item: unknown,
): { success: true; data: EventEnvelope; fast: boolean } | { success: false; error: z.ZodError } {
  if (FAST_PATH_APPLIES) {
    const fast = fastEnvelopeSchema.safeParse(item);
    if (fast.success) return { success: true, data: fast.data, fast: true };
  }
  const full = eventEnvelopeSchema.safeParse(item);
  return full.success ? { success: true, data: full.data, fast: false } : { success: false, error: full.error };
}

export { serializedOf } from './serialized.js';

/** Limits of `POST /events` (the whole body's 1 MB is the body parser's). */
export const MAX_BATCH_EVENTS = 500;
export const MAX_EVENT_BYTES = 32 * 1024;

/** The payload references copied into integer columns. */
const REFS = ['projectId', 'deploymentId', 'userId'] as const;

/** Issue paths like the request: `body[3].payload.projectId`, or `body.payload.projectId` for a single event. */
function pathOf(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  return prefix + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** What the envelope schema allows but the store cannot hold (each would be a database error). */
function storeIssues(event: EventEnvelope, serialized: string, prefix: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!isStorableInstant(event.occurredAt)) {
    issues.push({ path: `${prefix}.occurredAt`, message: 'must be between years 0001 and 9999' });
  }
  for (const ref of REFS) {
    const value = event.payload[ref];
    if (typeof value === 'number' && value > INT4_MAX)
      issues.push({ path: `${prefix}.payload.${ref}`, message: `must be at most ${INT4_MAX}` });
  }
  // JSON.stringify writes both as \u escapes: a cheap test first, the exact one only on a hit.
  if (/\\u(0000|d[89a-f])/i.test(serialized) && unstorableText(event.payload, prefix).length > 0) {
    issues.push({ path: `${prefix}.payload`, message: 'text must not contain U+0000 or unpaired surrogates' });
  }
  return issues;
}

/** At most this many issues are reported, so that a batch of garbage does not answer with megabytes. */
const MAX_ISSUES = 100;

/**
 * The events of a `POST /events` body (one envelope or an array of them), in request order, or
 * the error for the whole request: 413 for too many events or one too large, 400 naming every
 * invalid event's fields. Either all events are acceptable or none is stored.
 */
export function parseEventBatch(body: unknown): EventEnvelope[] {
  if (body === undefined || body === null) {
    throw new ValidationError('The body must be an event or an array of events', [{ path: 'body', message: 'is required' }]);
  }
  const single = !Array.isArray(body);
  const items: unknown[] = Array.isArray(body) ? body : [body];
  if (items.length === 0) {
    throw new ValidationError('The batch is empty', [{ path: 'body', message: 'must hold at least one event' }]);
  }
  if (items.length > MAX_BATCH_EVENTS) {
    throw new AppError(413, 'PayloadTooLargeError', `A batch holds at most ${MAX_BATCH_EVENTS} events; this one has ${items.length}`);
  }
  const serialized = items.map((item) => JSON.stringify(item));
  serialized.forEach((text, i) => {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_EVENT_BYTES) {
      throw new AppError(
        413,
        'PayloadTooLargeError',
        `Event ${single ? 'body' : `body[${i}]`} is ${bytes} bytes serialized; at most ${MAX_EVENT_BYTES} are allowed`,
      );
    }
  });

  const events: EventEnvelope[] = [];
  const issues: FieldIssue[] = [];
  items.forEach((item, i) => {
    const prefix = single ? 'body' : `body[${i}]`;
    const result = parseEnvelope(item);
    if (!result.success) {
      issues.push(...result.error.issues.map((issue) => ({ path: pathOf(prefix, issue.path), message: issue.message })));
      return;
    }
    issues.push(...storeIssues(result.data, serialized[i]!, prefix));
    if (result.fast) rememberSerialized(result.data, serialized[i]!);
    events.push(result.data);
  });
  const first = issues[0];
  if (first) {
    const shown = issues.slice(0, MAX_ISSUES);
    throw new ValidationError(
      `Invalid ${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}; nothing was stored`,
      shown,
    );
  }
  return events;
}
