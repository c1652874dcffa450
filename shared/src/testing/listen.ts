import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  port: number;
  server: http.Server;
  /** Ends every open connection and closes the server (a closure: callers pass it around detached). */
  close: () => Promise<void>;
}

/**
 * Serves a Node request listener, or a Koa app's `callback()`, on a free port of 127.0.0.1. Koa answers
 * its own errors, so its promise only says when a request is done; one that rejects anyway surfaces as an
 * unhandled rejection, which fails the test.
 */
export async function listenLocally(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>,
): Promise<LocalServer> {
  const server = http.createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
