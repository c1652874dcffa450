import { randomUUID } from 'node:crypto';
import { createWakeLoop, type Logger } from '@hosting/shared';
import type { ProjectServiceConfig } from '../config.js';
import { AggregatorError, type AggregatorClient, type WireEvent } from './aggregator-client.js';
import type { OutboxEvent, OutboxRepo } from './outbox.repo.js';

/**
 * Delivers the outbox to the aggregator, at least once; the aggregator's idempotency on `eventId`
 * makes that exactly once in its store. One loop per process:
 *
 *   claim a batch (committed) → POST it → mark delivered | schedule a retry with backoff
 *
 * It wakes at once on NOTIFY from the outbox trigger, and polls every OUTBOX_POLL_MS anyway, so a lost
 * notification or a broken LISTEN connection only slows it (shared/src/db/listen.ts).
 * Several processes can run it on one outbox: SKIP LOCKED gives them disjoint batches.
 */
/** The settings of config.ts the relay reads (documented there). */
export type RelayConfig = Pick<
  ProjectServiceConfig,
  | 'PROJECT_DATABASE_LISTEN_URL'
  | 'OUTBOX_BATCH_SIZE'
  | 'OUTBOX_POLL_MS'
  | 'OUTBOX_LEASE_MS'
  | 'OUTBOX_BACKOFF_BASE_MS'
  | 'OUTBOX_BACKOFF_CAP_MS'
  | 'AGGREGATOR_URL'
>;

export interface RelayOptions {
  outbox: OutboxRepo;
  client: AggregatorClient;
  logger: Logger;
  config: RelayConfig;
  /** Told of every batch delivery attempt (for metrics). */
  onAttempt?: (result: 'delivered' | 'failed', events: number) => void;
}

/** How long stop() lets an in-flight batch finish before it aborts and releases it. */
const STOP_GRACE_MS = 5_000;
/** Delivered rows are kept this long (for the outbox status and an operator's questions), then purged. */
const RETENTION_MS = 7 * 24 * 3600_000;

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
  const { outbox, client, logger, config } = options;
  const target = config.AGGREGATOR_URL;
  const backoff = { baseMs: config.OUTBOX_BACKOFF_BASE_MS, capMs: config.OUTBOX_BACKOFF_CAP_MS };
  const stats: RelayStats = { batches: 0, delivered: 0, failedAttempts: 0 };

  let inFlight: { ids: number[]; abort: AbortController } | undefined;
  let lastPurge = 0;
  let failuresInARow = 0;

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
      if (failuresInARow >= UNDELIVERABLE_AFTER_FAILURES) logger.info({ target }, 'events are delivered to the aggregator again');
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
          { target, attempts: failuresInARow, err: message },
          `events cannot be delivered to the aggregator at ${target}: ${failuresInARow} attempts in a row failed; they wait in the outbox. Check AGGREGATOR_URL and AGGREGATOR_SERVICE_TOKEN`,
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
    const batch = await outbox.claim(config.OUTBOX_BATCH_SIZE, config.OUTBOX_LEASE_MS);
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

  const loop = createWakeLoop({
    listenUrl: config.PROJECT_DATABASE_LISTEN_URL,
    channel: 'outbox',
    applicationName: 'outbox-relay-listen',
    logger,
    pollMs: config.OUTBOX_POLL_MS,
    failureMessage: 'outbox relay iteration failed; retrying',
    work: async () => {
      const worked = await tick();
      if (Date.now() - lastPurge > 60_000) {
        lastPurge = Date.now();
        await outbox.purgeDelivered(RETENTION_MS);
      }
      return worked ? 'again' : 'idle';
    },
  });

  return {
    stats,
    start(): void {
      loop.start();
    },
    /** Wakes the loop now (used by tests and after a local write). */
    poke: loop.wake,
    /**
     * Stops after the batch in flight: it gets STOP_GRACE_MS to finish; past that its HTTP call is
     * aborted and its rows are released for the next relay at once, instead of after the lease.
     */
    async stop(): Promise<void> {
      if (!loop.running) return;
      const grace = setTimeout(() => inFlight?.abort.abort(), STOP_GRACE_MS);
      const current = inFlight;
      await loop.stop();
      clearTimeout(grace);
      if (current?.abort.signal.aborted) await outbox.release(current.ids).catch(() => undefined);
    },
  };
}

export type OutboxRelay = ReturnType<typeof createOutboxRelay>;
