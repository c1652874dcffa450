import { PassThrough } from 'node:stream';
import { ServiceUnavailableError, TooManyRequestsError, type Logger } from '@hosting/shared';
import type { LiveChangeRow } from './stream.repo.js';
import { deploymentFrame } from './stream.schema.js';

/**
 * The open streams of one process: who wants which changes, the caps on how many streams there
 * are, and writing frames to them. No database here: the hub's loop hands it the changes it read,
 * the replay writes what a reconnecting client missed.
 */
export interface Subscriber {
  projectId: number | null;
  /** A user's token: only that user's projects (an all-projects stream is filtered by it). */
  owner: number | null;
  /** The highest id written to this stream (or its starting point); live frames at or below it are skipped. */
  lastId: number;
  stream: PassThrough;
  /** Live frames that arrived while the replay ran; null once live. */
  backlog: Array<{ id: number; frame: string }> | null;
  closed: boolean;
  openedAt: number;
  sent: number;
  /** Gives back its user's slot (see holdSlot). */
  release: () => void;
}

export interface SubscriberLimits {
  /**
   * Open streams at most; beyond, 503. Users' tokens together get at most nine tenths of them: the
   * last tenth is kept for the service token and admins.
   */
  maxClients: number;
  /** Open streams one user's token may hold at once; beyond, 429. */
  maxPerUser: number;
  /** A subscriber whose unsent output exceeds this is disconnected (it reconnects and is replayed). */
  maxBufferedBytes: number;
}

/** Live frames one subscriber may hold back while its replay runs. */
const MAX_BACKLOG = 10_000;

export function createSubscriberRegistry(limits: SubscriberLimits, logger: Logger) {
  const { maxClients, maxPerUser, maxBufferedBytes } = limits;
  const forUsers = maxClients - Math.floor(maxClients / 10);
  const everyone = new Set<Subscriber>();
  const ofAllProjects = new Set<Subscriber>();
  /** All-projects streams of users' tokens, by user: each gets its own projects' changes only. */
  const ofOwner = new Map<number, Set<Subscriber>>();
  const byProject = new Map<number, Set<Subscriber>>();
  /** Subscriptions admitted but not yet open (their project is being checked). */
  let admitting = 0;
  /** Streams (open or being admitted) of each user's token, and of all users' tokens together. */
  const perUser = new Map<number, number>();
  let ofUsers = 0;
  const stats = { delivered: 0, dropped: 0 };

  function write(sub: Subscriber, text: string): void {
    if (sub.closed || sub.stream.writableEnded) return;
    sub.stream.write(text);
    // The response is piped from this stream: what the socket does not take piles up here.
    if (sub.stream.writableLength + sub.stream.readableLength > maxBufferedBytes)
      drop(sub, 'slow client: more than maxBufferedBytes unsent');
  }

  function drop(sub: Subscriber, reason: string): void {
    if (sub.closed) return;
    stats.dropped++;
    logger.warn({ projectId: sub.projectId, reason }, 'deployment stream dropped; the client will reconnect and be replayed');
    sub.stream.destroy(); // Koa's pipeline then destroys the response: the client sees the end at once
  }

  function deliver(subs: Iterable<Subscriber>, id: number, frame: string): void {
    for (const sub of subs) {
      if (sub.backlog) {
        sub.backlog.push({ id, frame });
        if (sub.backlog.length > MAX_BACKLOG) drop(sub, 'replay backlog too long');
      } else if (id > sub.lastId) {
        write(sub, frame);
        sub.lastId = id;
        sub.sent++;
      }
    }
  }

  function add(sub: Subscriber): void {
    everyone.add(sub);
    if (sub.projectId === null && sub.owner !== null) {
      let set = ofOwner.get(sub.owner);
      if (!set) ofOwner.set(sub.owner, (set = new Set()));
      set.add(sub);
    } else if (sub.projectId === null) ofAllProjects.add(sub);
    else {
      let set = byProject.get(sub.projectId);
      if (!set) byProject.set(sub.projectId, (set = new Set()));
      set.add(sub);
    }
  }

  function remove(sub: Subscriber): void {
    if (sub.closed) return;
    sub.closed = true;
    sub.release();
    everyone.delete(sub);
    if (sub.projectId === null && sub.owner !== null) {
      const set = ofOwner.get(sub.owner);
      set?.delete(sub);
      if (set?.size === 0) ofOwner.delete(sub.owner);
    } else if (sub.projectId === null) ofAllProjects.delete(sub);
    else {
      const set = byProject.get(sub.projectId);
      set?.delete(sub);
      if (set?.size === 0) byProject.delete(sub.projectId);
    }
    logger.debug({ projectId: sub.projectId, events: sub.sent, durationMs: Date.now() - sub.openedAt }, 'deployment stream closed');
  }

  /**
   * Takes a slot for a stream of `owner` (a user's token; the service token and admins have none),
   * or refuses: 429 when that user already holds maxPerUser streams, 503 when users' tokens together
   * hold their share of maxClients. The function returned gives the slot back, once.
   */
  function holdSlot(owner: number | undefined): () => void {
    if (owner === undefined) return () => undefined;
    const held = perUser.get(owner) ?? 0;
    if (held >= maxPerUser) {
      throw new TooManyRequestsError(`This user already has ${maxPerUser} live streams open; close one, or try again later`, {
        'Retry-After': '5',
      });
    }
    if (ofUsers >= forUsers) {
      throw new ServiceUnavailableError(`This process already serves ${forUsers} live streams of users; try again shortly`, 5);
    }
    perUser.set(owner, held + 1);
    ofUsers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      ofUsers--;
      const left = (perUser.get(owner) ?? 1) - 1;
      if (left > 0) perUser.set(owner, left);
      else perUser.delete(owner);
    };
  }

  return {
    write,
    add,
    remove,

    /**
     * Admits one more stream of `owner` while `check` runs (its project is looked up), or refuses:
     * 503 at maxClients, 429/503 per holdSlot. Resolves to the slot's release, held for the stream.
     */
    async admit(owner: number | undefined, check: () => Promise<void>): Promise<() => void> {
      if (everyone.size + admitting >= maxClients) {
        throw new ServiceUnavailableError(`This process already serves ${maxClients} live streams; try again shortly`, 5);
      }
      const release = holdSlot(owner);
      admitting++;
      try {
        await check();
      } catch (err) {
        release();
        throw err;
      } finally {
        admitting--;
      }
      return release;
    },

    /** One change to everyone who wants it: its project's streams, all-projects streams, its owner's. */
    fanOut(change: LiveChangeRow): void {
      const subscribers = byProject.get(change.project_id);
      const owners = change.user_id === null ? undefined : ofOwner.get(change.user_id);
      if (ofAllProjects.size === 0 && !subscribers && !owners) return;
      const frame = deploymentFrame(change);
      deliver(ofAllProjects, change.id, frame);
      if (subscribers) deliver(subscribers, change.id, frame);
      if (owners) deliver(owners, change.id, frame);
      stats.delivered++;
    },

    /** The same text to every open stream (the heartbeat). */
    broadcast(text: string): void {
      for (const sub of everyone) write(sub, text);
    },

    /** Ends every stream: their clients reconnect elsewhere. */
    endAll(): void {
      for (const sub of everyone) sub.stream.end();
    },

    get size(): number {
      return everyone.size;
    },

    stats,
  };
}

export type SubscriberRegistry = ReturnType<typeof createSubscriberRegistry>;
