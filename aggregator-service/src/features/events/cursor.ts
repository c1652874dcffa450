import { instant } from './instant.js';

/**
 * The opaque cursor of `GET /events`: the position of the last event of a page, (occurred_at, id),
 * as base64url JSON. The time is PostgreSQL's own text with microseconds, not a JS Date (which
 * keeps milliseconds): a rounded position would skip or repeat events on the next page.
 */
export interface Cursor {
  /** `occurred_at` in UTC with six fractional digits, e.g. `2026-11-20T10:00:00.123456Z`. */
  occurredAt: string;
  id: number;
}

/** PostgreSQL's `to_char(... 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`; the date itself is checked by `instant`. */
const EXACT_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.occurredAt, cursor.id]), 'utf8').toString('base64url');
}

/** The form of every cursor this service gives out (base64url). */
export const CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;

/** The cursor `value` encodes, or undefined when it is not one this service gave out. */
export function decodeCursor(value: string): Cursor | undefined {
  if (!CURSOR_PATTERN.test(value)) return undefined;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) return undefined;
  const [occurredAt, id] = decoded as [unknown, unknown];
  if (typeof occurredAt !== 'string' || !EXACT_UTC.test(occurredAt) || !instant.safeParse(occurredAt).success) return undefined;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return undefined;
  return { occurredAt, id };
}
