import got, { type Got } from 'got';

/**
 * The project service's only HTTP client of the aggregator, and the only module that imports got.
 * got's own retries are off: the outbox relay owns retrying, with backoff, across restarts, and a
 * read for a person waiting (the activity feed) must fail fast rather than multiply its wait.
 */
export interface AggregatorClientOptions {
  baseUrl: string;
  token: string;
  /** Every call: AGGREGATOR_TIMEOUT_MS, sized for the relay's 500-event batches. */
  timeoutMs: number;
  /**
   * Reads made while a person waits (the activity feed): at most 2 s by default, and never more
   * than `timeoutMs`. The feed is one indexed page; an aggregator that needs longer is in trouble,
   * and the admin panel is better served by a quick 503 than by a spinner.
   */
  readTimeoutMs?: number;
}

/** The default of `readTimeoutMs`. */
export const AGGREGATOR_READ_TIMEOUT_MS = 2_000;

export interface WireEvent {
  eventId: string;
  name: string;
  occurredAt: string;
  payload: Record<string, unknown>;
}

/** A failed call: `status` is the HTTP status when the aggregator answered, undefined when it did not. */
export class AggregatorError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    /** The answer's body, parsed when it was JSON, when the aggregator answered. */
    readonly body?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AggregatorError';
  }
}

/** The query of the aggregator's `GET /projects/:id/activity`, already validated by the caller. */
export interface ActivityQuery {
  limit?: number;
  cursor?: string;
}

export function createAggregatorClient(options: AggregatorClientOptions) {
  const { timeoutMs } = options;
  const readTimeoutMs = Math.min(options.readTimeoutMs ?? AGGREGATOR_READ_TIMEOUT_MS, timeoutMs);
  const http: Got = got.extend({
    prefixUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.token}` },
    timeout: { request: timeoutMs },
    retry: { limit: 0 },
    throwHttpErrors: false,
  });

  return {
    /** Sends a batch; resolves when the aggregator has stored it (new or already there). */
    async sendEvents(events: WireEvent[], requestId: string, signal?: AbortSignal): Promise<void> {
      let res;
      try {
        res = await http.post('events', { json: events, headers: { 'x-request-id': requestId }, signal });
      } catch (err) {
        throw new AggregatorError(`aggregator unreachable: ${(err as Error).message}`);
      }
      if (res.statusCode < 200 || res.statusCode >= 300) {
        throw new AggregatorError(`aggregator answered ${res.statusCode}: ${String(res.body).slice(0, 300)}`, res.statusCode);
      }
    },

    /**
     * One page of a project's activity feed, newest first: the aggregator's JSON body on a 200,
     * for the caller to validate. Anything else is an AggregatorError: with `status` (and the
     * parsed `body`) when it answered, without when it did not (refused, reset, timed out after
     * `readTimeoutMs`). `requestId` is the incoming request's, so both services log the same id.
     */
    async projectActivity(projectId: number, query: ActivityQuery, requestId: string, signal?: AbortSignal): Promise<unknown> {
      const searchParams: Record<string, string> = {};
      if (query.limit !== undefined) searchParams.limit = String(query.limit);
      if (query.cursor !== undefined) searchParams.cursor = query.cursor;
      let res;
      try {
        res = await http.get(`projects/${projectId}/activity`, {
          searchParams,
          headers: { 'x-request-id': requestId, accept: 'application/json' },
          timeout: { request: readTimeoutMs },
          responseType: 'text',
          signal,
        });
      } catch (err) {
        throw new AggregatorError(`aggregator unreachable: ${(err as Error).message}`, undefined, undefined, { cause: err });
      }
      let body: unknown;
      try {
        body = JSON.parse(res.body);
      } catch {
        body = undefined;
      }
      if (res.statusCode !== 200) {
        throw new AggregatorError(`aggregator answered ${res.statusCode}: ${res.body.slice(0, 300)}`, res.statusCode, body);
      }
      if (body === undefined) throw new AggregatorError('aggregator answered 200 with a body that is not JSON', res.statusCode);
      return body;
    },

    /** The timeout of `projectActivity`, in milliseconds. */
    readTimeoutMs,
  };
}

export type AggregatorClient = ReturnType<typeof createAggregatorClient>;
