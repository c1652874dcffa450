import { PassThrough, type Readable } from 'node:stream';
import pg from 'pg';
import { NotFoundError, ServiceUnavailableError, TooManyRequestsError, type Knex, type Logger } from '@hosting/shared';
import { advanceCursor, type CursorState } from './stream-cursor.js';
import { createStreamRepo, type LiveChangeRow } from './stream.repo.js';
import { deploymentFrame, HEARTBEAT, resetFrame, retryFrame, type ResetReason } from './stream.schema.js';

/**
 * The live deployment stream of one process (`GET /deployments/stream`,
 * `GET /projects/:id/deployments/stream`).
 *
 * Every change to a deployment, made by any process, is written to `deployment_changes` by a
 * trigger in the statement that made it, and announced with `NOTIFY deployment_changes`. The hub
 * LISTENs on one connection of its own, reads the new rows `where id > cursor` (so one read covers
 * any number of notifications, and a lost one is caught by the next or by the `pollMs` poll), moves
 * its cursor only as far as no id can still appear below it (stream-cursor.ts), and writes each
 * change as one SSE frame to the subscribers of its project and to those of all projects.
 *
 * A client that reconnects with `Last-Event-ID` is replayed from the table (`id > lastEventId`, up
 * to the hub's cursor at the moment it subscribed) while live frames wait in its backlog, then the
 * backlog: no gap and no duplicate. The table keeps `replayWindowMs` of changes; older ones are
 * purged here, by every hub (deletes are idempotent). Beyond what can be replayed the client gets
 * `event: reset` and reloads through the REST API.
 *
 * stop() ends every stream at once (SSE never ends by itself; the server's shutdown waits for open
 * responses): clients reconnect, with their Last-Event-ID, to a process that is still running.
 */
export interface StreamHubOptions {
  db: Knex;
  logger: Logger;
  /** The database to LISTEN on; without it the hub only polls. */
  listenUrl?: string;
  /** A `: heartbeat` comment on every stream this often. Default 15 s. */
  heartbeatMs?: number;
  /**
   * Open streams at most; beyond, subscribe() answers 503. Users' tokens together get at most nine
   * tenths of them: the last tenth is kept for the service token and admins. Default 1,000.
   */
  maxClients?: number;
  /** Open streams one user's token may hold at once; beyond, subscribe() answers 429. Default 10. */
  maxPerUser?: number;
  /** How long changes are kept for replay. Default 10 minutes. */
  replayWindowMs?: number;
  /** A replay sends at most this many changes; more: `event: reset`. Default 10,000. */
  replayMax?: number;
  /** Reads this often even without a notification (safety net). Default 1 s. */
  pollMs?: number;
  /** A missing id holds the stream back at most this long (see stream-cursor.ts). Default 10 s. */
  gapTimeoutMs?: number;
  /** The `retry:` (ms) an EventSource waits before it reconnects. Default 2 s. */
  retryMs?: number;
  /** A subscriber whose unsent output exceeds this is disconnected (it reconnects and is replayed). Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Changes read per statement. Default 1,000. */
  batchSize?: number;
  /** How often old changes are purged. Default 1 minute. */
  purgeEveryMs?: number;
}

interface Subscriber {
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

const REPLAY_PAGE = 500;
const MAX_BACKLOG = 10_000;
const PURGE_CHUNK = 5_000;
const PURGE_CHUNKS = 10;
/** How soon to read again while a missing id holds the stream back. */
const GAP_RETRY_MS = 20;

export function createDeploymentStreamHub(options: StreamHubOptions) {
  const { logger } = options;
  const repo = createStreamRepo(options.db);
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const maxClients = options.maxClients ?? 1_000;
  const maxPerUser = options.maxPerUser ?? 10;
  const forUsers = maxClients - Math.floor(maxClients / 10);
  const replayWindowMs = options.replayWindowMs ?? 600_000;
  const replayMax = options.replayMax ?? 10_000;
  const pollMs = options.pollMs ?? 1_000;
  const gapTimeoutMs = options.gapTimeoutMs ?? 10_000;
  const retryMs = options.retryMs ?? 2_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
  const batchSize = options.batchSize ?? 1_000;
  const purgeEveryMs = options.purgeEveryMs ?? 60_000;

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

  let state: CursorState | undefined;
  let running = false;
  let loop: Promise<void> | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let listener: pg.Client | undefined;
  let wake: (() => void) | undefined;
  let notified = false;
  let lastPurge = 0;
  const stats = { delivered: 0, notifications: 0, reads: 0, deadIds: 0, timedOutIds: 0, dropped: 0 };

  const signal = () => {
    notified = true;
    wake?.();
  };

  async function listen(): Promise<void> {
    if (!options.listenUrl || listener) return;
    const client = new pg.Client({ connectionString: options.listenUrl, application_name: 'deployment-stream-listen' });
    const lost = (why: string) => {
      if (listener !== client) return;
      listener = undefined;
      logger.warn({ err: why }, 'deployment stream LISTEN connection lost; polling until it is back');
      client.end().catch(() => undefined);
      signal(); // reconnect and read at once: notifications may have been missed
    };
    client.on('notification', () => {
      stats.notifications++;
      signal();
    });
    client.on('error', (err) => lost(err.message));
    client.on('end', () => lost('connection ended'));
    try {
      await client.connect();
      await client.query('listen deployment_changes');
      listener = client;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'deployment stream LISTEN unavailable; polling');
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

  function fanOut(change: LiveChangeRow): void {
    const subscribers = byProject.get(change.project_id);
    const owners = change.user_id === null ? undefined : ofOwner.get(change.user_id);
    if (ofAllProjects.size === 0 && !subscribers && !owners) return;
    const frame = deploymentFrame(change);
    deliver(ofAllProjects, change.id, frame);
    if (subscribers) deliver(subscribers, change.id, frame);
    if (owners) deliver(owners, change.id, frame);
    stats.delivered++;
  }

  /** One read: 'more' when a full batch came, 'waiting' when a missing id holds the rest back. */
  async function readOnce(): Promise<'more' | 'waiting' | 'idle'> {
    const { rows, snapshot } = await repo.readAfter(state!.cursor, batchSize);
    stats.reads++;
    const step = advanceCursor(state!, rows, snapshot, Date.now(), gapTimeoutMs);
    state = step.state;
    stats.deadIds += step.dead;
    if (step.timedOut > 0) {
      stats.timedOutIds += step.timedOut;
      logger.warn(
        { ids: step.timedOut, cursor: state.cursor, gapTimeoutMs },
        'deployment stream gave up waiting for missing change ids (a long transaction?)',
      );
    }
    for (const change of step.emit) fanOut(change);
    if (step.waiting) return 'waiting';
    return rows.length === batchSize ? 'more' : 'idle';
  }

  async function purge(): Promise<void> {
    if (Date.now() - lastPurge < purgeEveryMs) return;
    lastPurge = Date.now();
    // At most PURGE_CHUNKS chunks a round, so that a large backlog (a bulk import) delays live
    // delivery only briefly; the rest goes in the next rounds.
    let purged = 0;
    for (let n = PURGE_CHUNK, round = 0; n === PURGE_CHUNK && running && round < PURGE_CHUNKS; purged += n, round++) {
      n = await repo.purge(replayWindowMs, PURGE_CHUNK);
    }
    if (purged > 0) logger.debug({ purged }, 'old deployment changes purged');
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        await listen();
        notified = false;
        const outcome = await readOnce();
        await purge();
        if (running && outcome !== 'more' && !notified) await idle(outcome === 'waiting' ? GAP_RETRY_MS : pollMs);
      } catch (err) {
        // The database is away: nothing is lost, the changes wait in the table.
        logger.warn({ err: (err as Error).message }, 'deployment stream read failed; retrying');
        if (running) await idle(pollMs);
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

  /** Sends what the client missed after `from` (up to `upTo`, the cursor when it subscribed), then its backlog. */
  async function replay(sub: Subscriber, from: number, upTo: number): Promise<void> {
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
  }

  const unavailable = () =>
    new ServiceUnavailableError('The live deployment stream is not available in this process right now; try again shortly', 2);

  return {
    /** Reads where the stream stands and starts listening; subscribe() answers 503 before. */
    async start(): Promise<void> {
      if (running) return;
      state = { cursor: await repo.startCursor(gapTimeoutMs) };
      running = true;
      heartbeat = setInterval(() => {
        for (const sub of everyone) write(sub, HEARTBEAT);
      }, heartbeatMs);
      heartbeat.unref();
      loop = run();
    },

    /**
     * Opens a stream of the changes of `projectId` (or of all projects) after `lastEventId` (or
     * after now). With an `owner` (a user's token), only that user's projects: another user's
     * project is not found, like an unknown one. NotFoundError for an unknown project;
     * ServiceUnavailableError when this process is at `maxClients`, not started or stopping.
     */
    async subscribe(request: { projectId?: number; lastEventId?: number; owner?: number }): Promise<Readable> {
      if (!running || !state) throw unavailable();
      if (everyone.size + admitting >= maxClients) {
        throw new ServiceUnavailableError(`This process already serves ${maxClients} live streams; try again shortly`, 5);
      }
      const release = holdSlot(request.owner);
      admitting++;
      let exists = true;
      try {
        if (request.projectId !== undefined) exists = await repo.projectExists(request.projectId, request.owner);
      } catch (err) {
        release();
        throw err;
      } finally {
        admitting--;
      }
      if (!exists || !running || !state) release();
      if (!exists) throw new NotFoundError(`Project ${request.projectId} not found`);
      if (!running || !state) throw unavailable();

      const upTo = state.cursor;
      const from = request.lastEventId;
      const sub: Subscriber = {
        projectId: request.projectId ?? null,
        owner: request.owner ?? null,
        lastId: Math.max(upTo, from ?? 0),
        stream: new PassThrough(),
        backlog: from === undefined ? null : [],
        closed: false,
        openedAt: Date.now(),
        sent: 0,
        release,
      };
      add(sub);
      sub.stream.once('close', () => remove(sub));
      sub.stream.write(retryFrame(retryMs)); // also makes the response's headers go out at once
      if (from !== undefined) void replay(sub, from, upTo);
      return sub.stream;
    },

    /** Ends every stream (clients reconnect elsewhere), then stops reading and listening. */
    async stop(): Promise<void> {
      const wasRunning = running;
      running = false;
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = undefined;
      for (const sub of everyone) sub.stream.end();
      if (!wasRunning) return;
      signal();
      await loop;
      const client = listener;
      listener = undefined; // first, so that its 'end' is not taken for a lost connection
      await client?.end().catch(() => undefined);
    },

    /** Wakes the reader now (tests). */
    poke: signal,

    get streams(): number {
      return everyone.size;
    },

    /** Where the stream stands (the highest id delivered or given up on) and counters. */
    status() {
      return { cursor: state?.cursor, streams: everyone.size, listening: listener !== undefined, ...stats };
    },
  };
}

export type DeploymentStreamHub = ReturnType<typeof createDeploymentStreamHub>;
