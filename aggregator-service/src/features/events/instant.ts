import { z } from 'zod';

/**
 * Instants the event store accepts: ISO-8601 date-times with `Z` or an offset, real calendar dates
 * (zod's check; `Date.parse` takes 30 February), within the years PostgreSQL stores and prints back
 * with four digits (it has no year 0). Anything else would be a database error, a 500.
 */
const EARLIEST = Date.parse('0001-01-01T00:00:00Z');
const LATEST = Date.parse('9999-12-31T23:59:59Z');

export function isStorableInstant(iso: string): boolean {
  const t = Date.parse(iso);
  return t >= EARLIEST && t <= LATEST;
}

export const instant = z.iso.datetime({ offset: true, abort: true }).refine(isStorableInstant, 'must be between years 0001 and 9999');
