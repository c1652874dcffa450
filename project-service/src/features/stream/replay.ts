import type { Logger } from '@hosting/shared';
import type { StreamRepo } from './stream.repo.js';
import { deploymentFrame, resetFrame, type ResetReason } from './stream.schema.js';
import type { Subscriber, SubscriberRegistry } from './subscribers.js';

/** Changes read per replay statement. */
const REPLAY_PAGE = 500;

/**
 * What a client reconnecting with `Last-Event-ID` missed: the changes after it, read from the
 * table up to the hub's cursor at the moment it subscribed, while the live frames wait in its
 * backlog; then the backlog. No gap and no duplicate. Beyond what can be replayed (an id from the
 * future, changes already purged, more than `replayMax`) the client gets `event: reset` and
 * reloads through the REST API.
 */
export function createReplay(deps: { repo: StreamRepo; subscribers: SubscriberRegistry; logger: Logger; replayMax: number }) {
  const { repo, subscribers, logger, replayMax } = deps;
  const { write } = subscribers;

  return async function replay(sub: Subscriber, from: number, upTo: number): Promise<void> {
    try {
      const info = await repo.replayInfo({ after: from, upTo, projectId: sub.projectId, owner: sub.owner, limit: replayMax });
      let reset: ResetReason | undefined;
      if (from > info.head) reset = 'unknown';
      else if (from < upTo && (info.oldest === null || info.oldest > from + 1)) reset = 'expired';
      else if (info.pending > replayMax) reset = 'too-many';
      if (reset) {
        write(sub, resetFrame(upTo, reset));
        sub.lastId = upTo;
      } else {
        for (let after = from; after < upTo && !sub.closed;) {
          const page = await repo.replayPage({ after, upTo, projectId: sub.projectId, owner: sub.owner, limit: REPLAY_PAGE });
          for (const change of page) write(sub, deploymentFrame(change));
          sub.sent += page.length;
          if (page.length < REPLAY_PAGE) break;
          after = page[page.length - 1]!.id;
        }
      }
      const backlog = sub.backlog ?? [];
      sub.backlog = null;
      for (const { id, frame } of backlog) {
        if (id <= sub.lastId) continue;
        write(sub, frame);
        sub.lastId = id;
        sub.sent++;
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'deployment stream replay failed; closing the stream so the client retries');
      sub.stream.destroy();
    }
  };
}
