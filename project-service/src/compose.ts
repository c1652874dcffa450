import { createLifecycle, type Knex, type Lifecycle, type Logger } from '@hosting/shared';
import { createApp } from './app.js';
import type { ProjectServiceConfig } from './config.js';
import { createAggregatorClient, type AggregatorClient } from './events/aggregator-client.js';
import { createOutboxRelay } from './events/outbox-relay.js';
import { createOutboxRepo } from './events/outbox.repo.js';
import { createOutboxService } from './events/outbox.service.js';
import { createActivityService } from './features/activity/activity.service.js';
import { createDeploymentsRepo } from './features/deployments/deployments.repo.js';
import { createDeploymentsService } from './features/deployments/deployments.service.js';
import { createProjectsRepo } from './features/projects/projects.repo.js';
import { createProjectsService } from './features/projects/projects.service.js';
import { createStatsRepo } from './features/stats/stats.repo.js';
import { createStatsService } from './features/stats/stats.service.js';
import { createDeploymentStreamHub, type DeploymentStreamHub } from './features/stream/stream-hub.js';
import { projectAuth } from './http/auth.js';
import { createIdentityRepo } from './http/identity.repo.js';
import { createProjectMetrics } from './metrics.js';

/** What the composition root takes besides the config: the process's resources. */
export interface ProjectServiceRuntime {
  /** The pool, opened and migrated by main.ts (tests: their cloned database's). */
  db: Knex;
  logger: Logger;
  /** Shared with the server, which sets it on SIGTERM (readiness then answers 503). Default: a fresh one. */
  lifecycle?: Lifecycle;
  /** Decides "the current week" of statistics. Default: the system clock; tests fix it. */
  clock?: () => Date;
  /**
   * Stands in for the client built from AGGREGATOR_URL: tests point it at an aggregator they
   * started, or pass null for an instance without one (the activity feed then answers 503).
   */
  aggregator?: AggregatorClient | null;
  /** Stands in for the hub built from the STREAM_* settings (tests shorten its tuning). */
  streamHub?: DeploymentStreamHub;
}

/**
 * The composition root of project-service: every repository, service and background loop, built
 * once from the parsed config, and the app around them. main.ts and the tests both build the
 * service here, so the tests run the wiring that production runs.
 *
 * Nothing starts here: start() starts the outbox relay (unless OUTBOX_RELAY_ENABLED=false) and the
 * stream hub; stop() stops both (the relay releases its batch, the streams end).
 */
export function createProjectService(config: ProjectServiceConfig, runtime: ProjectServiceRuntime) {
  const { db, logger } = runtime;
  const repos = {
    projects: createProjectsRepo(db),
    deployments: createDeploymentsRepo(db),
    outbox: createOutboxRepo(db),
    stats: createStatsRepo(db),
    identities: createIdentityRepo(db),
  };
  const aggregator =
    runtime.aggregator === undefined
      ? createAggregatorClient({
          baseUrl: config.AGGREGATOR_URL,
          token: config.AGGREGATOR_SERVICE_TOKEN,
          timeoutMs: config.AGGREGATOR_TIMEOUT_MS,
        })
      : runtime.aggregator;
  const metrics = createProjectMetrics({
    db,
    outbox: repos.outbox,
    projects: repos.projects,
    ongoingThreshold: config.ONGOING_DEPLOYMENTS_THRESHOLD,
  });
  const streamHub =
    runtime.streamHub ?? createDeploymentStreamHub({ db, logger: logger.child({ component: 'deployment-stream' }), config });
  const relay = aggregator
    ? createOutboxRelay({
        outbox: repos.outbox,
        client: aggregator,
        logger: logger.child({ component: 'outbox-relay' }),
        config,
        onAttempt: metrics.relayAttempt,
      })
    : undefined;

  const services = {
    projects: createProjectsService({ projects: repos.projects }),
    deployments: createDeploymentsService({ deployments: repos.deployments, publicDomain: config.PUBLIC_DOMAIN }),
    stats: createStatsService({ stats: repos.stats, clock: runtime.clock ?? (() => new Date()) }),
    activity: createActivityService({ projects: repos.projects, aggregator: aggregator ?? undefined }),
    outbox: createOutboxService({ outbox: repos.outbox }),
    stream: streamHub,
  };
  const app = createApp({
    config,
    logger,
    db,
    lifecycle: runtime.lifecycle ?? createLifecycle(),
    metrics,
    authenticate: projectAuth(repos.identities, config),
    services,
  });

  return {
    app,
    services,
    metrics,
    relay,
    streamHub,
    /** Starts the background work: the relay (when enabled) and the stream hub. */
    start: async (): Promise<void> => {
      if (config.OUTBOX_RELAY_ENABLED) relay?.start();
      await streamHub.start();
    },
    /** Stops it: the relay finishes or releases its batch, every stream ends. */
    stop: async (): Promise<void> => {
      await Promise.all([relay?.stop(), streamHub.stop()]);
    },
  };
}

export type ProjectService = ReturnType<typeof createProjectService>;
