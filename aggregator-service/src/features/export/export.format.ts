import type { EventRow } from '../../db/tables.js';
import { eventJson } from '../events/events.schema.js';

/**
 * How one event is written in each export format. Pure text functions, unit-tested; the stream
 * in export.service.ts only strings them together.
 */
export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
};

/** The CSV columns, in order: the event's fields as `GET /events` names them. */
export const CSV_COLUMNS = ['id', 'eventId', 'name', 'occurredAt', 'createdAt', 'projectId', 'deploymentId', 'userId', 'payload'] as const;

/** RFC 4180 ends records with CRLF (a line break inside a quoted field stays as it is). */
const CRLF = '\r\n';

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a double quote, CR or LF (or when
 * `always`), with every double quote doubled. Any other character, emoji included, is written
 * as is: the file is UTF-8.
 */
export function csvField(value: string, always = false): string {
  return always || /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + CRLF;
}

/** One record. Null ids are empty fields; the payload is its JSON text, always quoted. */
export function csvRecord(row: EventRow): string {
  const e = eventJson(row);
  const id = (n: number | null) => (n === null ? '' : String(n));
  return (
    [
      String(e.id),
      csvField(e.eventId),
      csvField(e.name),
      e.occurredAt,
      e.createdAt,
      id(e.projectId),
      id(e.deploymentId),
      id(e.userId),
      csvField(JSON.stringify(e.payload), true),
    ].join(',') + CRLF
  );
}

/** One NDJSON line: the event exactly as `GET /events/{id}` shows it. JSON.stringify escapes line breaks, so one event is one line. */
export function ndjsonRecord(row: EventRow): string {
  return JSON.stringify(eventJson(row)) + '\n';
}

export function exportFilename(format: ExportFormat, now: Date): string {
  // 2026-11-20T10-00-00Z: no colons, which some file systems refuse.
  const stamp = now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
  return `events-${stamp}.${format}`;
}
