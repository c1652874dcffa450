import type { OutboxRepo, OutboxStatus } from './outbox.repo.js';

/** What an operator may ask of the outbox over HTTP: how delivery to the aggregator stands. */
export function createOutboxService(deps: { outbox: Pick<OutboxRepo, 'status'> }) {
  return {
    async status(): Promise<OutboxStatus> {
      return deps.outbox.status();
    },
  };
}

export type OutboxService = ReturnType<typeof createOutboxService>;
