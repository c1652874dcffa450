import { ServiceUnavailableError } from '@hosting/shared';
import type { EventFilter } from '../events/events.repo.js';
import { csvHeader, csvRecord, ndjsonRecord, type ExportFormat } from './export.format.js';
import type { ExportRepo } from './export.repo.js';

/** Text is handed to the socket in pieces of about this size: one write per ~64 kB, not one per event. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Each running export holds a database connection for as long as its client reads (the pool has
 * 10 by default): beyond this many at once, a 503 with Retry-After keeps the pool for the API.
 */
export const MAX_CONCURRENT_EXPORTS = 2;

export function createExportService(deps: { exports: ExportRepo; maxConcurrent?: number }) {
  const maxConcurrent = deps.maxConcurrent ?? MAX_CONCURRENT_EXPORTS;
  let running = 0;

  /** The export as text pieces; holds a slot from its first `next()` to its end, however it ends. */
  async function* text(filter: EventFilter, format: ExportFormat): AsyncGenerator<string, void, undefined> {
    try {
      const record = format === 'csv' ? csvRecord : ndjsonRecord;
      let pending = format === 'csv' ? csvHeader() : '';
      for await (const row of deps.exports.stream(filter)) {
        pending += record(row);
        if (pending.length >= CHUNK_CHARS) {
          yield pending;
          pending = '';
        }
      }
      if (pending) yield pending;
    } finally {
      running--;
    }
  }

  return {
    /**
     * Starts an export and reads its first piece before returning, so that an error before the
     * first byte (no connection free, a statement timeout) becomes a proper error answer rather
     * than a cut connection. A later error can only cut the response short: a chunked body without
     * its last chunk, which no HTTP client takes for a complete one.
     *
     * The caller must finish the returned iterator or call its `return()`/`throw()` (a destroyed
     * `Readable.from` does): that is what gives the connection back.
     */
    async start(filter: EventFilter, format: ExportFormat): Promise<AsyncIterableIterator<string>> {
      if (running >= maxConcurrent) {
        throw new ServiceUnavailableError(`${maxConcurrent} exports are already running; try again when one has finished`, 10);
      }
      running++;
      const source = text(filter, format);
      let first: IteratorResult<string, void> | undefined = await source.next();
      // Not a generator of our own around `source`: one closed before its first `next()` would
      // never run its body, and `source` (and its connection) would stay open.
      const chunks: AsyncIterableIterator<string> = {
        [Symbol.asyncIterator]: () => chunks,
        next: async () => {
          const taken = first;
          first = undefined;
          return taken ?? source.next();
        },
        return: async () => {
          first = undefined;
          return source.return(undefined);
        },
        throw: async (err?: unknown) => {
          first = undefined;
          return source.throw(err);
        },
      };
      return chunks;
    },

    /** Exports running now (for tests and metrics). */
    get running(): number {
      return running;
    },
  };
}

export type ExportService = ReturnType<typeof createExportService>;
