import pg from 'pg';
import type { Logger } from '../logger.js';

/**
 * A loop that does a round of work whenever PostgreSQL announces some (`NOTIFY <channel>`), and
 * every `pollMs` regardless: the outbox relay and the live deployment stream both run on it.
 *
 * LISTEN needs a session of its own, so the loop holds one dedicated connection to `listenUrl`
 * (the database itself, never PgBouncer in transaction mode). Notifications are only a wake-up:
 * the work reads what is new from its table, so one lost (or a connection lost with it) delays the
 * work by at most one poll. When the connection is lost the loop runs a round at once (what was
 * announced meanwhile is unknown) and connects again; a connection that cannot be made is tried
 * again with a doubling delay (up to `RECONNECT_CAP_MS`) while the polls go on.
 */
export interface WakeLoopOptions {
  /** The database to LISTEN on; undefined: poll only. */
  listenUrl: string | undefined;
  channel: string;
  /** The LISTEN session's application_name (pg_stat_activity shows whose it is). */
  applicationName: string;
  logger: Logger;
  /** A round runs at least this often, notified or not. */
  pollMs: number;
  /**
   * One round. 'again': run the next one at once (there is more); 'idle': wait for a notification
   * or the poll; a number: wait at most that many ms (a retry sooner than the poll).
   */
  work(): Promise<'again' | 'idle' | number>;
  /** Logged (a warning) when a round throws; the loop retries within a second. */
  failureMessage: string;
}

export interface WakeLoop {
  start(): void;
  /** Runs a round now (or right after the one in progress). */
  wake: () => void;
  /** Stops after the round in progress, then closes the LISTEN connection. */
  stop(): Promise<void>;
  readonly running: boolean;
  /** Whether the LISTEN connection is up. */
  readonly listening: boolean;
  readonly notifications: number;
}

const RECONNECT_BASE_MS = 100;
const RECONNECT_CAP_MS = 10_000;

export function createWakeLoop(options: WakeLoopOptions): WakeLoop {
  const { logger, channel } = options;
  let running = false;
  let loop: Promise<void> | undefined;
  let listener: pg.Client | undefined;
  let wakeIdle: (() => void) | undefined;
  /** Set by a wake-up that came while a round ran, so that the loop does not then sleep. */
  let notified = false;
  let notifications = 0;
  let failedConnects = 0;
  let nextConnectAt = 0;

  const wake = () => {
    notified = true;
    wakeIdle?.();
  };

  async function ensureListening(): Promise<void> {
    if (!options.listenUrl || listener || Date.now() < nextConnectAt) return;
    const client = new pg.Client({ connectionString: options.listenUrl, application_name: options.applicationName });
    const lost = (why: string) => {
      if (listener !== client) return;
      listener = undefined;
      logger.warn({ err: why, channel }, 'LISTEN connection lost; polling until it is back');
      client.end().catch(() => undefined);
      wake(); // reconnect and work at once: notifications may have been missed
    };
    client.on('notification', () => {
      notifications++;
      wake();
    });
    client.on('error', (err) => lost(err.message));
    client.on('end', () => lost('connection ended'));
    try {
      await client.connect();
      await client.query(`listen ${client.escapeIdentifier(channel)}`);
      listener = client;
      failedConnects = 0;
    } catch (err) {
      failedConnects++;
      nextConnectAt = Date.now() + Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * 2 ** (failedConnects - 1));
      logger.warn({ err: (err as Error).message, channel }, 'LISTEN unavailable; polling');
      await client.end().catch(() => undefined);
    }
  }

  function idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeIdle = undefined;
        resolve();
      }
      wakeIdle = done;
    });
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        await ensureListening();
        notified = false;
        const outcome = await options.work();
        const waitMs = outcome === 'again' ? 0 : outcome === 'idle' ? options.pollMs : outcome;
        if (running && waitMs > 0 && !notified) await idle(waitMs);
      } catch (err) {
        // The database is away or a statement failed: the work waits in its table.
        logger.warn({ err: (err as Error).message }, options.failureMessage);
        if (running) await idle(Math.min(options.pollMs, 1_000));
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    wake,
    async stop() {
      if (!running) return;
      running = false;
      wake();
      await loop;
      const client = listener;
      listener = undefined; // first, so that its 'end' is not taken for a lost connection
      await client?.end().catch(() => undefined);
    },
    get running() {
      return running;
    },
    get listening() {
      return listener !== undefined;
    },
    get notifications() {
      return notifications;
    },
  };
}
