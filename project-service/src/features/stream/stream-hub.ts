import { PassThrough, type Readable } from 'node:stream';
import { createWakeLoop, NotFoundError, ServiceUnavailableError, type Knex, type Logger } from '@hosting/shared';
import type { ProjectServiceConfig } from '../../config.js';
import { createReplay } from './replay.js';
import { advanceCursor, type CursorState } from './stream-cursor.js';
import { createStreamRepo } from './stream.repo.js';
import { HEARTBEAT, retryFrame } from './stream.schema.js';
import { createSubscriberRegistry, type Subscriber } from './subscribers.js';

/** The settings of config.ts the hub reads (documented there). */
export type StreamConfig = Pick<
  ProjectServiceConfig,
  | 'PROJECT_DATABASE_LISTEN_URL'
  | 'STREAM_HEARTBEAT_MS'
  | 'STREAM_MAX_CLIENTS'
  | 'STREAM_MAX_PER_USER'
  | 'STREAM_POLL_MS'
  | 'STREAM_REPLAY_WINDOW_MS'
>;

/** Tuning that is not configuration: fixed in production, shortened by tests. */
export interface StreamTuning {
  /** A replay sends at most this many changes; more: `event: reset`. */
  replayMax: number;
  /** A missing id holds the stream back at most this long (see stream-cursor.ts). */
  gapTimeoutMs: number;
  /** The `retry:` (ms) an EventSource waits before it reconnects. */
  retryMs: number;
  /** A subscriber whose unsent output exceeds this is disconnected (it reconnects and is replayed). */
  maxBufferedBytes: number;
  /** Changes read per statement. */
  batchSize: number;
  /** How often old changes are purged. */
  purgeEveryMs: number;
}

const STREAM_TUNING: StreamTuning = {
  replayMax: 10_000,
  gapTimeoutMs: 10_000,
  retryMs: 2_000,
  maxBufferedBytes: 1024 * 1024,
  batchSize: 1_000,
  purgeEveryMs: 60_000,
};

export interface StreamHubOptions extends Partial<StreamTuning> {
  db: Knex;
  logger: Logger;
  config: StreamConfig;
}

const PURGE_CHUNK = 5_000;
const PURGE_CHUNKS = 10;
/** How soon to read again while a missing id holds the stream back. */
const GAP_RETRY_MS = 20;

/**
 * The live deployment stream of one process (`GET /deployments/stream`,
 * `GET /projects/:id/deployments/stream`): the reading loop, on the shared LISTEN/wake/poll loop
 * (shared/src/db/listen.ts), over the subscriber registry (subscribers.ts) and the replay (replay.ts).
 *
 * Every change to a deployment, made by any process, is written to `deployment_changes` by a
 * trigger in the statement that made it, and announced with `NOTIFY deployment_changes`. The hub
 * LISTENs on one connection of its own, reads the new rows `where id > cursor` (so one read covers
 * any number of notifications, and a lost one is caught by the next or by the STREAM_POLL_MS poll), moves
 * its cursor only as far as no id can still appear below it (stream-cursor.ts), and writes each
 * change as one SSE frame to the subscribers of its project and to those of all projects.
 *
 * A client that reconnects with `Last-Event-ID` is replayed from the table (`id > lastEventId`, up
 * to the hub's cursor at the moment it subscribed) while live frames wait in its backlog, then the
 * backlog: no gap and no duplicate. The table keeps STREAM_REPLAY_WINDOW_MS of changes; older ones are
 * purged here, by every hub (deletes are idempotent). Beyond what can be replayed the client gets
 * `event: reset` and reloads through the REST API.
 *
 * stop() ends every stream at once (SSE never ends by itself; the server's shutdown waits for open
 * responses): clients reconnect, with their Last-Event-ID, to a process that is still running.
 */
export function createDeploymentStreamHub(options: StreamHubOptions) {
  const { logger, config } = options;
  const tuning = { ...STREAM_TUNING };
  for (const key of Object.keys(STREAM_TUNING) as Array<keyof StreamTuning>) tuning[key] = options[key] ?? tuning[key];
  const repo = createStreamRepo(options.db);
  const subscribers = createSubscriberRegistry(
    { maxClients: config.STREAM_MAX_CLIENTS, maxPerUser: config.STREAM_MAX_PER_USER, maxBufferedBytes: tuning.maxBufferedBytes },
    logger,
  );
  const replay = createReplay({ repo, subscribers, logger, replayMax: tuning.replayMax });

  let state: CursorState | undefined;
  let running = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let lastPurge = 0;
  const stats = { reads: 0, deadIds: 0, timedOutIds: 0 };

  /** One read: 'again' when a full batch came, a short wait when a missing id holds the rest back. */
  async function readOnce(): Promise<'again' | 'idle' | number> {
    const { rows, snapshot } = await repo.readAfter(state!.cursor, tuning.batchSize);
    stats.reads++;
    const step = advanceCursor(state!, rows, snapshot, Date.now(), tuning.gapTimeoutMs);
    state = step.state;
    stats.deadIds += step.dead;
    if (step.timedOut > 0) {
      stats.timedOutIds += step.timedOut;
      logger.warn(
        { ids: step.timedOut, cursor: state.cursor, gapTimeoutMs: tuning.gapTimeoutMs },
        'deployment stream gave up waiting for missing change ids (a long transaction?)',
      );
    }
    for (const change of step.emit) subscribers.fanOut(change);
    if (step.waiting) return GAP_RETRY_MS;
    return rows.length === tuning.batchSize ? 'again' : 'idle';
  }

  async function purge(): Promise<void> {
    if (Date.now() - lastPurge < tuning.purgeEveryMs) return;
    lastPurge = Date.now();
    // At most PURGE_CHUNKS chunks a round, so that a large backlog (a bulk import) delays live
    // delivery only briefly; the rest goes in the next rounds.
    let purged = 0;
    for (let n = PURGE_CHUNK, round = 0; n === PURGE_CHUNK && running && round < PURGE_CHUNKS; purged += n, round++) {
      n = await repo.purge(config.STREAM_REPLAY_WINDOW_MS, PURGE_CHUNK);
    }
    if (purged > 0) logger.debug({ purged }, 'old deployment changes purged');
  }

  const loop = createWakeLoop({
    listenUrl: config.PROJECT_DATABASE_LISTEN_URL,
    channel: 'deployment_changes',
    applicationName: 'deployment-stream-listen',
    logger,
    pollMs: config.STREAM_POLL_MS,
    // The database is away: nothing is lost, the changes wait in the table.
    failureMessage: 'deployment stream read failed; retrying',
    work: async () => {
      const outcome = await readOnce();
      await purge();
      return outcome;
    },
  });

  const unavailable = () =>
    new ServiceUnavailableError('The live deployment stream is not available in this process right now; try again shortly', 2);

  return {
    /** Reads where the stream stands and starts listening; subscribe() answers 503 before. */
    async start(): Promise<void> {
      if (running) return;
      state = { cursor: await repo.startCursor(tuning.gapTimeoutMs) };
      running = true;
      heartbeat = setInterval(() => subscribers.broadcast(HEARTBEAT), config.STREAM_HEARTBEAT_MS);
      heartbeat.unref();
      loop.start();
    },

    /**
     * Opens a stream of the changes of `projectId` (or of all projects) after `lastEventId` (or
     * after now). With an `owner` (a user's token), only that user's projects: another user's
     * project is not found, like an unknown one. NotFoundError for an unknown project;
     * ServiceUnavailableError when this process is at its STREAM_MAX_CLIENTS, not started or stopping.
     */
    async subscribe(request: { projectId?: number; lastEventId?: number; owner?: number }): Promise<Readable> {
      if (!running || !state) throw unavailable();
      const { projectId, owner } = request;
      const release = await subscribers.admit(owner, async () => {
        if (projectId !== undefined && !(await repo.projectExists(projectId, owner)))
          throw new NotFoundError(`Project ${projectId} not found`);
      });
      if (!running || !state) {
        release();
        throw unavailable();
      }

      const upTo = state.cursor;
      const from = request.lastEventId;
      const sub: Subscriber = {
        projectId: projectId ?? null,
        owner: owner ?? null,
        lastId: Math.max(upTo, from ?? 0),
        stream: new PassThrough(),
        backlog: from === undefined ? null : [],
        closed: false,
        openedAt: Date.now(),
        sent: 0,
        release,
      };
      subscribers.add(sub);
      sub.stream.once('close', () => subscribers.remove(sub));
      sub.stream.write(retryFrame(tuning.retryMs)); // also makes the response's headers go out at once
      if (from !== undefined) void replay(sub, from, upTo);
      return sub.stream;
    },

    /** Ends every stream (clients reconnect elsewhere), then stops reading and listening. */
    async stop(): Promise<void> {
      running = false;
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = undefined;
      subscribers.endAll();
      await loop.stop();
    },

    /** Wakes the reader now (tests). */
    poke: loop.wake,

    get streams(): number {
      return subscribers.size;
    },

    /** Where the stream stands (the highest id delivered or given up on) and counters. */
    status() {
      return {
        cursor: state?.cursor,
        streams: subscribers.size,
        listening: loop.listening,
        notifications: loop.notifications,
        ...subscribers.stats,
        ...stats,
      };
    },
  };
}

export type DeploymentStreamHub = ReturnType<typeof createDeploymentStreamHub>;
