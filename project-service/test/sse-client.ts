import http from 'node:http';
import { EventSource } from 'eventsource';
import type { Contract } from '@hosting/shared/testing';

/**
 * A real EventSource client (npm `eventsource`, the WHATWG algorithm: reconnects by itself and
 * sends `Last-Event-ID`) for the stream tests, with the admin token added to its requests and every
 * response it gets checked against the service's own OpenAPI document.
 */
export interface SseEvent {
  type: 'deployment' | 'reset';
  id: string;
  data: any;
  /** performance.now() when it arrived. */
  at: number;
}

export interface StreamClient {
  es: EventSource;
  events: SseEvent[];
  /** The status and headers of each response the client got (one per (re)connection). */
  responses: Array<{ status: number; headers: Record<string, string> }>;
  /** Contract violations of those responses (asserted empty by the tests). */
  problems: string[];
  opened: Promise<void>;
  waitFor(count: number, timeoutMs?: number): Promise<SseEvent[]>;
  close(): void;
}

export function openStream(
  url: string,
  options: { token?: string; headers?: Record<string, string>; contract?: Contract } = {},
): StreamClient {
  const events: SseEvent[] = [];
  const responses: StreamClient['responses'] = [];
  const problems: string[] = [];
  const es = new EventSource(url, {
    fetch: async (input, init) => {
      const headers = { ...options.headers, ...init.headers, ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}) };
      const res = await fetch(input, { ...init, headers });
      const got = Object.fromEntries(res.headers);
      responses.push({ status: res.status, headers: got });
      try {
        options.contract?.check('get', new URL(String(input)).pathname, res.status, undefined, got['content-type'], got);
      } catch (err) {
        problems.push((err as Error).message);
      }
      return res;
    },
  });
  for (const type of ['deployment', 'reset'] as const) {
    es.addEventListener(type, (e) => {
      events.push({ type, id: e.lastEventId, data: JSON.parse(e.data as string), at: performance.now() });
    });
  }
  const opened = new Promise<void>((resolve, reject) => {
    es.addEventListener('open', () => resolve(), { once: true });
    es.addEventListener('error', (e) => reject(new Error(`stream did not open: ${(e as { message?: string }).message ?? ''}`)), {
      once: true,
    });
  });
  return {
    es,
    events,
    responses,
    problems,
    opened,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > deadline)
          throw new Error(
            `expected ${count} events, got ${events.length}: ${JSON.stringify(events.map((e) => [e.type, e.id, e.data?.status]))}`,
          );
        await new Promise((r) => setTimeout(r, 5));
      }
      return events.slice(0, count);
    },
    close: () => es.close(),
  };
}

/**
 * The raw bytes of a stream, on a connection of its own (comments such as `: heartbeat` are not
 * surfaced by EventSource). `end` resolves when the server ends the response.
 */
export function rawStream(url: string, token: string) {
  let text = '';
  let response: http.IncomingMessage | undefined;
  const req = http.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false });
  const end = new Promise<'ended' | 'error'>((resolve) => {
    req.on('response', (res) => {
      response = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve('ended'));
      res.on('error', () => resolve('error'));
    });
    req.on('error', () => resolve('error'));
  });
  return {
    get text() {
      return text;
    },
    get response() {
      return response;
    },
    end,
    async waitForText(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in ${JSON.stringify(text.slice(-500))}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    close: () => req.destroy(),
  };
}
