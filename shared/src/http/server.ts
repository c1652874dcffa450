import type { Server } from 'node:http';
import type Koa from 'koa';
import type { Logger } from '../logger.js';
import type { Lifecycle } from './ops.js';

export interface RunningServer {
  server: Server;
  port: number;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), then runs `cleanup`. */
  shutdown(reason: string): Promise<void>;
  /** False from the moment shutdown starts (readiness answers 503 then). */
  readonly accepting: boolean;
}

/**
 * Listens with `app` and owns the server's shutdown: on stop, new connections are refused,
 * idle keep-alive sockets are closed, in-flight requests finish, and after `graceMs` anything
 * left is cut. `cleanup` (relay, pools) runs after the last request.
 */
export async function listen(
  app: Koa<any, any>,
  options: { port: number; host: string; logger: Logger; lifecycle?: Lifecycle; graceMs?: number; cleanup?: () => Promise<void> },
): Promise<RunningServer> {
  const server = app.listen(options.port, options.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let accepting = true;
  let stopping: Promise<void> | undefined;

  const shutdown = (reason: string) => {
    stopping ??= (async () => {
      accepting = false;
      if (options.lifecycle) options.lifecycle.shuttingDown = true; // readiness answers 503 from now on
      options.logger.info({ reason }, 'shutting down');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = options.graceMs ?? 8_000;
      const timer = setTimeout(() => {
        options.logger.warn({ graceMs: grace }, 'in-flight requests outlived the grace period; closing their connections');
        server.closeAllConnections();
      }, grace);
      timer.unref();
      await closed;
      clearTimeout(timer);
      await options.cleanup?.();
    })();
    return stopping;
  };

  return {
    server,
    port,
    shutdown,
    get accepting() {
      return accepting;
    },
  };
}

/** Calls `stop` once on the first SIGTERM or SIGINT, then exits 0 (or 1 when stopping failed). Only for main modules. */
export function exitOnSignals(stop: (signal: string) => Promise<void>, logger: Logger): void {
  let once = false;
  const handler = (signal: NodeJS.Signals) => {
    if (once) return;
    once = true;
    stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
