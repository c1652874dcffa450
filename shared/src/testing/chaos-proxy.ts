import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fault-injecting HTTP proxy for delivery tests: it forwards to `target` but, at the given
 * rates, answers 500 (before forwarding, or after the target already stored the request: the
 * nastier case), resets the connection (before or after forwarding), and adds latency. `down`
 * makes it refuse every request, as if the target were gone.
 */
export interface ChaosOptions {
  failRate?: number;
  resetRate?: number;
  latencyMs?: [number, number];
  /** Deterministic fault pattern: the same seed gives the same sequence of decisions. */
  seed?: number;
  /** Sees every request body that reaches the target (to count what was sent). */
  inspect?: (body: Buffer) => void;
}

export interface ChaosProxy {
  url: string;
  stats: {
    requests: number;
    forwarded: number;
    failed: number;
    reset: number;
    refused: number;
    inFlight: number;
    faultsBeforeForwarding: number;
  };
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** mulberry32: a tiny seeded PRNG, enough for reproducible chaos. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startChaosProxy(target: string, options: ChaosOptions = {}): Promise<ChaosProxy> {
  const random = prng(options.seed ?? 1);
  const failRate = options.failRate ?? 0;
  const resetRate = options.resetRate ?? 0;
  const [minLatency, maxLatency] = options.latencyMs ?? [0, 0];
  const targetUrl = new URL(target);
  const stats = { requests: 0, forwarded: 0, failed: 0, reset: 0, refused: 0, inFlight: 0, faultsBeforeForwarding: 0 };
  let down = false;
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    stats.requests++;
    stats.inFlight++;
    res.on('close', () => stats.inFlight--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const roll = random();
      const after = random() < 0.5; // fault before or after the target saw the request
      const delay = minLatency + random() * (maxLatency - minLatency);
      setTimeout(() => {
        if (down) {
          stats.refused++;
          res.writeHead(503, { 'content-type': 'application/json' }).end('{"name":"ServiceUnavailableError","message":"down"}');
          return;
        }
        const fail = roll < failRate;
        const reset = !fail && roll < failRate + resetRate;
        if ((fail || reset) && !after) {
          stats.faultsBeforeForwarding++;
          if (fail) {
            stats.failed++;
            res.writeHead(500, { 'content-type': 'application/json' }).end('{"name":"InternalServerError","message":"chaos"}');
          } else {
            stats.reset++;
            req.socket.destroy();
          }
          return;
        }
        options.inspect?.(Buffer.concat(chunks));
        const upstream = http.request(
          {
            host: targetUrl.hostname,
            port: targetUrl.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: targetUrl.host, 'content-length': String(Buffer.concat(chunks).length) },
            agent,
          },
          (up) => {
            const body: Buffer[] = [];
            up.on('data', (c: Buffer) => body.push(c));
            up.on('end', () => {
              stats.forwarded++;
              if (fail) {
                stats.failed++;
                res.writeHead(500, { 'content-type': 'application/json' }).end('{"name":"InternalServerError","message":"chaos"}');
              } else if (reset) {
                stats.reset++;
                req.socket.destroy();
              } else {
                res.writeHead(up.statusCode ?? 502, up.headers).end(Buffer.concat(body));
              }
            });
          },
        );
        upstream.on('error', () => {
          if (!res.headersSent)
            res.writeHead(502, { 'content-type': 'application/json' }).end('{"name":"BadGatewayError","message":"upstream"}');
        });
        upstream.end(Buffer.concat(chunks));
      }, delay);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    setDown: (value) => {
      down = value;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
