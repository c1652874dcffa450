import http from 'node:http';
import type { AttackRequest } from './requests.js';

export interface AttackResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  contentType?: string;
  text: string;
  /** The parsed body when it is JSON. */
  body: unknown;
}

/**
 * Sends a request as written: headers in order and repeated as given, the body as bytes. A
 * `text/event-stream` answer is cut once its headers are in (a stream never ends by itself).
 */
export function sendRaw(
  baseUrl: string,
  request: Pick<AttackRequest, 'method' | 'path' | 'headers' | 'body'>,
  options: { agent?: http.Agent; timeoutMs?: number } = {},
): Promise<AttackResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const grouped = new Map<string, { name: string; values: string[] }>();
    for (const [name, value] of request.headers) {
      const entry = grouped.get(name.toLowerCase()) ?? { name, values: [] };
      entry.values.push(value);
      grouped.set(name.toLowerCase(), entry);
    }
    let req: http.ClientRequest;
    try {
      req = http.request({
        host: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        agent: options.agent ?? false,
        setHost: !grouped.has('host'),
      });
      for (const { name, values } of grouped.values()) req.setHeader(name, values.length === 1 ? values[0]! : values);
      // node:http sends a GET's body with neither Content-Length nor chunking: the server would read it as the next request.
      if (request.body && !grouped.has('content-length')) req.setHeader('Content-Length', request.body.length);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`)),
      options.timeoutMs ?? 10_000,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const contentType = res.headers['content-type'];
      const streaming = /text\/event-stream/i.test(contentType ?? '');
      const finish = () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        if (/^application\/(.+\+)?json\b/i.test(contentType ?? '') && text) {
          try {
            body = JSON.parse(text);
          } catch {
            body = { unparseable: text.slice(0, 200) };
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, contentType, text, body });
      };
      if (streaming) {
        // The status and headers are the answer; the stream itself never ends.
        res.destroy();
        finish();
        return;
      }
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', finish);
    });
    req.end(request.body);
  });
}
