import got, { type Got } from 'got';

/**
 * The project service's only HTTP client of the aggregator, and the only module that imports got.
 * got's own retries are off: the outbox relay owns retrying, with backoff, across restarts.
 */
export interface AggregatorClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs?: number;
}

export interface WireEvent {
  eventId: string;
  name: string;
  occurredAt: string;
  payload: Record<string, unknown>;
}

/** A failed call: `status` is the HTTP status when the aggregator answered, undefined when it did not. */
export class AggregatorError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'AggregatorError';
  }
}

export function createAggregatorClient(options: AggregatorClientOptions) {
  const http: Got = got.extend({
    prefixUrl: options.baseUrl,
    headers: { authorization: `Bearer ${options.token}` },
    timeout: { request: options.timeoutMs ?? 5_000 },
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
  };
}

export type AggregatorClient = ReturnType<typeof createAggregatorClient>;
