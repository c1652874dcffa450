import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type Koa from 'koa';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import type { Lifecycle } from './ops.js';
import { problemBody } from './problem.js';

/** What Node's HTTP parser refuses before the app sees a request, and how we name it. */
function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

const CLIENT_ERROR_NAME: Record<number, string> = {
  400: 'BadRequestError',
  408: 'RequestTimeoutError',
  431: 'RequestHeaderFieldsTooLargeError',
};

const CLIENT_ERROR_MESSAGE: Record<number, string> = {
  400: 'The request is not valid HTTP',
  408: 'The request was not received in time',
  431: 'The request headers are too large (16 KB at most)',
};

/**
 * Answers a request Node's parser refused (malformed HTTP, headers over 16 KB, a slow upload) in
 * the contract's error shape instead of Node's bare status line, then closes the connection.
 * Nothing is written when a response is already on its way on that socket (bytes beyond a
 * request's Content-Length arrive while its answer is being written) or the socket is gone.
 */
export function answerClientError(err: Error & { code?: string }, socket: Duplex, logger: Logger): void {
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || (inFlight && inFlight.headersSent)) {
    socket.destroy();
    return;
  }
  const status = clientErrorStatus(err.code);
  const body = JSON.stringify(problemBody(status, CLIENT_ERROR_NAME[status]!, CLIENT_ERROR_MESSAGE[status]!));
  logger.info({ status, code: err.code }, 'request refused by the HTTP parser');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

export interface RunningServer {
  server: Server;
  port: number;
  /**
   * Fails readiness, keeps serving for `drainDelayMs`, then stops accepting, runs `onStopAccepting`
   * beside the in-flight requests (up to `graceMs`), then runs `cleanup`.
   */
  shutdown(reason: string): Promise<void>;
  /** False from the moment shutdown starts (readiness answers 503 then). */
  readonly accepting: boolean;
}

/** Shutdown settings both services read (their config schemas spread this). */
export const shutdownEnv = {
  /**
   * On SIGTERM, how long a replica keeps serving with readiness failing before it stops accepting:
   * longer than its load balancer takes to notice (health-check interval × fall count, plus the
   * check's own timeout), so no request is sent to a closed port. 0 (the default) stops at once,
   * which is right for one process and keeps Ctrl-C quick.
   */
  SHUTDOWN_DRAIN_DELAY_MS: z.coerce.number().int().min(0).max(300_000).default(0),
};

export interface ListenOptions {
  port: number;
  host: string;
  logger: Logger;
  lifecycle?: Lifecycle;
  /** SHUTDOWN_DRAIN_DELAY_MS (tests: 0, no drain). */
  drainDelayMs: number;
  /** How long in-flight requests may run once the server stops accepting; then their sockets are cut. Default 8 s. */
  graceMs?: number;
  /**
   * Runs when the listening socket has closed, beside the in-flight requests: what must keep working
   * during the drain but end with the server (the relay's batch, live streams, which never finish
   * by themselves). It starts in the same tick as the close, so a client told to reconnect cannot
   * open a new connection here.
   */
  onStopAccepting?: () => Promise<unknown>;
  /** Runs after the last request and `onStopAccepting` (pools, the embedded database). */
  cleanup?: () => Promise<void>;
}

/**
 * Listens with `app` and owns the server's shutdown: readiness fails first and the server keeps
 * serving for the drain delay; then new connections are refused, idle keep-alive sockets are
 * closed, in-flight requests finish, and after `graceMs` anything left is cut. `cleanup` (relay,
 * pools) runs after the last request.
 */
export async function listen(app: Pick<Koa, 'listen'>, options: ListenOptions): Promise<RunningServer> {
  const server = app.listen(options.port, options.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => answerClientError(err, socket, options.logger));
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let accepting = true;
  let stopping: Promise<void> | undefined;

  // While draining, every answer closes its connection: a client (or balancer) that keeps a
  // keep-alive socket here opens its next one elsewhere, so no idle socket is left to be closed
  // under a request that is just being sent when the drain ends.
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (!accepting && !res.headersSent) res.setHeader('Connection', 'close');
  });

  const shutdown = (reason: string) => {
    stopping ??= (async () => {
      accepting = false;
      if (options.lifecycle) options.lifecycle.shuttingDown = true; // readiness answers 503 from now on
      const { drainDelayMs } = options;
      options.logger.info({ reason, drainDelayMs }, 'shutting down');
      if (drainDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const alongside = options.onStopAccepting?.();
      const grace = options.graceMs ?? 8_000;
      const timer = setTimeout(() => {
        options.logger.warn({ graceMs: grace }, 'in-flight requests outlived the grace period; closing their connections');
        server.closeAllConnections();
      }, grace);
      timer.unref();
      await Promise.all([closed, alongside]);
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

/**
 * Under `npm start` a service has an IPC channel to it, which closes however npm start ends
 * (kill -9 included): the service then stops as on SIGTERM, so nothing outlives its starter.
 * The channel is unref'd so that it never keeps the process alive by itself.
 */
export function stopWhenParentGone(): void {
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}

/** Calls `stop` once on the first SIGTERM or SIGINT, then exits 0 (or 1 when stopping failed). Only for entry points. */
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
