import { AppError, ValidationError, eventEnvelopeSchema, type EventEnvelope, type FieldIssue } from '@hosting/shared';
import { isStorableInstant } from './instant.js';
import { INT4_MAX } from './events.schema.js';

/** Limits of `POST /events` (the whole body's 1 MB is the body parser's). */
export const MAX_BATCH_EVENTS = 500;
export const MAX_EVENT_BYTES = 32 * 1024;

/** The payload references copied into integer columns. */
const REFS = ['projectId', 'deploymentId', 'userId'] as const;

/** Issue paths like the request: `body[3].payload.projectId`, or `body.payload.projectId` for a single event. */
function pathOf(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  return prefix + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** Text that jsonb refuses: U+0000 and unpaired surrogates, in keys or values. */
function hasUnstorableText(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0') || /[\ud800-\udfff]/u.test(value);
  if (Array.isArray(value)) return value.some(hasUnstorableText);
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).some(([k, v]) => hasUnstorableText(k) || hasUnstorableText(v));
  }
  return false;
}

/** What the envelope schema allows but the store cannot hold (each would be a database error). */
function storeIssues(event: EventEnvelope, serialized: string, prefix: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!isStorableInstant(event.occurredAt)) {
    issues.push({ path: `${prefix}.occurredAt`, message: 'must be between years 0001 and 9999' });
  }
  for (const ref of REFS) {
    const value = event.payload[ref];
    if (typeof value === 'number' && value > INT4_MAX) issues.push({ path: `${prefix}.payload.${ref}`, message: `must be at most ${INT4_MAX}` });
  }
  // JSON.stringify writes both as \u escapes: a cheap test first, the exact one only on a hit.
  if (/\\u(0000|d[89a-f])/i.test(serialized) && hasUnstorableText(event.payload)) {
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
      throw new AppError(413, 'PayloadTooLargeError', `Event ${single ? 'body' : `body[${i}]`} is ${bytes} bytes serialized; at most ${MAX_EVENT_BYTES} are allowed`);
    }
  });

  const events: EventEnvelope[] = [];
  const issues: FieldIssue[] = [];
  items.forEach((item, i) => {
    const prefix = single ? 'body' : `body[${i}]`;
    const result = eventEnvelopeSchema.safeParse(item);
    if (!result.success) {
      issues.push(...result.error.issues.map((issue) => ({ path: pathOf(prefix, issue.path), message: issue.message })));
      return;
    }
    issues.push(...storeIssues(result.data, serialized[i]!, prefix));
    events.push(result.data);
  });
  const first = issues[0];
  if (first) {
    const shown = issues.slice(0, MAX_ISSUES);
    throw new ValidationError(`Invalid ${first.path}: ${first.message}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}; nothing was stored`, shown);
  }
  return events;
}
