import { createLifecycle, type Knex, type Lifecycle, type Logger } from '@hosting/shared';
import { createApp } from './app.js';
import type { AggregatorServiceConfig } from './config.js';
import { createEventsRepo } from './features/events/events.repo.js';
import { createEventsService } from './features/events/events.service.js';
import { createExportRepo } from './features/export/export.repo.js';
import { createExportService } from './features/export/export.service.js';
import { createAggregatorMetrics } from './metrics.js';

/** What the composition root takes besides the config: the process's resources. */
export interface AggregatorServiceRuntime {
  /** The pool, opened and migrated by main.ts (tests: their cloned database's). */
  db: Knex;
  logger: Logger;
  /** Shared with the server, which sets it on SIGTERM (readiness then answers 503). Default: a fresh one. */
  lifecycle?: Lifecycle;
}

/**
 * The composition root of aggregator-service: every repository and service, built once from the
 * parsed config, and the app around them. main.ts and the tests both build the service here.
 */
export function createAggregatorService(config: AggregatorServiceConfig, runtime: AggregatorServiceRuntime) {
  const { db } = runtime;
  const services = {
    events: createEventsService({ events: createEventsRepo(db) }),
    exports: createExportService({ exports: createExportRepo(db) }),
  };
  const metrics = createAggregatorMetrics({ db });
  const app = createApp({ config, logger: runtime.logger, db, lifecycle: runtime.lifecycle ?? createLifecycle(), metrics, services });
  return { app, services, metrics };
}

export type AggregatorService = ReturnType<typeof createAggregatorService>;
