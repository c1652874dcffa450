import { NotFoundError, type EventEnvelope } from '@hosting/shared';
import type { EventRow } from '../../db/tables.js';
import { encodeCursor, type Cursor } from './cursor.js';
import type { IngestResult } from './events.schema.js';
import type { EventFilter, EventsRepo } from './events.repo.js';

/**
 * Ingest and read the event store. Ingest is idempotent on `eventId` (compared without case, as
 * the uuid column does): an event already stored, or repeated earlier in the same batch, is a
 * `duplicate` and the first copy wins.
 */
export function createEventsService(deps: { events: EventsRepo }) {
  const { events } = deps;
  return {
    async ingest(batch: readonly EventEnvelope[]): Promise<IngestResult> {
      const firsts = new Map<string, EventEnvelope>();
      for (const event of batch) {
        const key = event.eventId.toLowerCase();
        if (!firsts.has(key)) firsts.set(key, event);
      }
      const inserted = await events.insertNew([...firsts.values()]);
      // Deleting on first sight marks only the first copy of an inserted id as stored.
      const results = batch.map((event) => ({
        eventId: event.eventId,
        status: inserted.delete(event.eventId.toLowerCase()) ? ('stored' as const) : ('duplicate' as const),
      }));
      const stored = results.filter((r) => r.status === 'stored').length;
      return { stored, duplicates: results.length - stored, results };
    },

    /** One page newest first, and the cursor of the next page when there is one (one extra row tells). */
    async list(filter: EventFilter, limit: number, after?: Cursor): Promise<{ events: EventRow[]; nextCursor: string | null }> {
      const rows = await events.page(filter, limit + 1, after);
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        events: page.map(({ position: _p, ...row }) => row),
        nextCursor: rows.length > limit && last ? encodeCursor(last.position) : null,
      };
    },

    async get(id: number): Promise<EventRow> {
      const found = await events.findById(id);
      if (!found) throw new NotFoundError(`Event ${id} not found`);
      return found;
    },
  };
}

export type EventsService = ReturnType<typeof createEventsService>;
