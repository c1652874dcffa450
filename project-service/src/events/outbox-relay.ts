import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '@hosting/shared';
import { AggregatorError, type AggregatorClient, type WireEvent } from './aggregator-client.js';
import type { OutboxEvent, OutboxRepo } from './outbox.repo.js';

/**
 * Delivers the outbox to the aggregator, at least once; the aggregator's idempotency on `eventId`
 * makes that exactly once in its store. One loop per process:
 *
 *   claim a batch (committed) → POST it → mark delivered | schedule a retry with backoff
 *
 * It wakes at once on NOTIFY from the outbox trigger (a dedicated LISTEN connection), and polls
 * every `pollMs` anyway, so a lost notification or a broken LISTEN connection only slows it.
 * Several processes can run it on one outbox: SKIP LOCKED gives them disjoint batches.
 */
export interface RelayOptions {
  outbox: OutboxRepo;
  client: AggregatorClient;
  logger: Logger;
  /** The database to LISTEN on; without it the relay only polls. */
  listenUrl?: string;
  batchSize?: number;
  leaseMs?: number;
  pollMs?: number;
  backoff?: { baseMs: number; capMs: number };
  /** How long stop() lets an in-flight batch finish before it aborts and releases it. */
  stopGraceMs?: number;
  retentionMs?: number;
  /** Told of every batch delivery attempt (for metrics). */
  onAttempt?: (result: 'delivered' | 'failed', events: number) => void;
  /** Where the events go (AGGREGATOR_URL), named when delivery keeps failing. */
  target?: string;
}

/**
 * Failed attempts in a row after which the relay says, once, that events cannot be delivered
 * (each attempt's own warning reads as a retry; a wrong AGGREGATOR_URL or token needs a person).
 * With the default backoff the third attempt comes within about two seconds of the first.
 */
export const UNDELIVERABLE_AFTER_FAILURES = 3;

export interface RelayStats {
  batches: number;
  delivered: number;
  failedAttempts: number;
}

export function createOutboxRelay(options: RelayOptions) {
  const { outbox, client, logger } = options;
  const batchSize = options.batchSize ?? 500;
  const leaseMs = options.leaseMs ?? 30_000;
  const pollMs = options.pollMs ?? 1_000;
  const backoff = options.backoff ?? { baseMs: 500, capMs: 60_000 };
  const stopGraceMs = options.stopGraceMs ?? 5_000;
  const retentionMs = options.retentionMs ?? 7 * 24 * 3600_000;
  const stats: RelayStats = { batches: 0, delivered: 0, failedAttempts: 0 };

  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let listener: pg.Client | undefined;
  let inFlight: { ids: number[]; abort: AbortController } | undefined;
  let lastPurge = 0;
  /** Set by a notification that came while the loop was busy, so it does not then sleep. */
  let notified = false;
  let failuresInARow = 0;

  const signal = () => {
    notified = true;
    wake?.();
  };

  async function listen(): Promise<void> {
    if (!options.listenUrl || listener) return;
    const client = new pg.Client({ connectionString: options.listenUrl, application_name: 'outbox-relay-listen' });
    client.on('notification', signal);
    client.on('error', (err) => {
      logger.warn({ err: err.message }, 'outbox LISTEN connection lost; polling until it is back');
      if (listener === client) listener = undefined;
      client.end().catch(() => undefined);
    });
    try {
      await client.connect();
      await client.query('listen outbox');
      listener = client;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'outbox LISTEN unavailable; polling');
      await client.end().catch(() => undefined);
    }
  }

  function idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  const wire = (e: OutboxEvent): WireEvent => ({
    eventId: e.event_id,
    name: e.name,
    occurredAt: e.occurred_at.toISOString(),
    payload: e.payload,
  });

  async function send(batch: OutboxEvent[], abort: AbortController): Promise<void> {
    const requestId = `relay-${randomUUID()}`;
    try {
      await client.sendEvents(batch.map(wire), requestId, abort.signal);
      await outbox.markDelivered(batch.map((e) => e.id));
      stats.delivered += batch.length;
      options.onAttempt?.('delivered', batch.length);
      if (failuresInARow >= UNDELIVERABLE_AFTER_FAILURES)
        logger.info({ target: options.target }, 'events are delivered to the aggregator again');
      failuresInARow = 0;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // A refused batch (4xx) may hold one bad event: send them one by one, so the others go
      // through and only the bad one waits, visible in the outbox status, for a fix.
      if (
        err instanceof AggregatorError &&
        err.status !== undefined &&
        err.status >= 400 &&
        err.status < 500 &&
        batch.length > 1 &&
        !abort.signal.aborted
      ) {
        for (const one of batch) await send([one], abort);
        return;
      }
      stats.failedAttempts += batch.length;
      options.onAttempt?.('failed', batch.length);
      logger.warn({ events: batch.length, err: message, requestId }, 'outbox delivery failed; will retry');
      if (++failuresInARow === UNDELIVERABLE_AFTER_FAILURES && !abort.signal.aborted) {
        logger.warn(
          { target: options.target, attempts: failuresInARow, err: message },
          `events cannot be delivered to the aggregator${options.target ? ` at ${options.target}` : ''}: ${failuresInARow} attempts in a row failed; they wait in the outbox. Check AGGREGATOR_URL and AGGREGATOR_SERVICE_TOKEN`,
        );
      }
      if (!abort.signal.aborted)
        await outbox.markFailed(
          batch.map((e) => e.id),
          message,
          backoff,
        );
    }
  }

  /** Claims and sends one batch; true when there was something to do. */
  async function tick(): Promise<boolean> {
    const batch = await outbox.claim(batchSize, leaseMs);
    if (batch.length === 0) return false;
    stats.batches++;
    const abort = new AbortController();
    inFlight = { ids: batch.map((e) => e.id), abort };
    try {
      await send(batch, abort);
    } finally {
      inFlight = undefined;
    }
    return true;
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        await listen();
        notified = false;
        const worked = await tick();
        if (Date.now() - lastPurge > 60_000) {
          lastPurge = Date.now();
          await outbox.purgeDelivered(retentionMs);
        }
        if (!worked && running && !notified) await idle(pollMs);
      } catch (err) {
        // The database is away or a statement failed: nothing is lost (rows stay in the outbox).
        logger.warn({ err: (err as Error).message }, 'outbox relay iteration failed; retrying');
        if (running) await idle(Math.min(pollMs, 1_000));
      }
    }
  }

  return {
    stats,
    start(): void {
      if (running) return;
      running = true;
      loop = run();
    },
    /** Wakes the loop now (used by tests and after a local write). */
    poke: signal,
    /**
     * Stops after the batch in flight: it gets `stopGraceMs` to finish; past that its HTTP call is
     * aborted and its rows are released for the next relay at once, instead of after the lease.
     */
    async stop(): Promise<void> {
      if (!running) return;
      running = false;
      signal();
      const grace = setTimeout(() => inFlight?.abort.abort(), stopGraceMs);
      const current = inFlight;
      await loop;
      clearTimeout(grace);
      if (current?.abort.signal.aborted) await outbox.release(current.ids).catch(() => undefined);
      await listener?.end().catch(() => undefined);
      listener = undefined;
    },
  };
}

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
