import type Koa from 'koa';
import { chain, createServiceApp, requireBearer, type Knex, type Lifecycle, type Logger, type RequestState } from '@hosting/shared';
import type { AggregatorServiceConfig } from './config.js';
import { registerActivityRoutes } from './features/activity/activity.routes.js';
import { registerEventRoutes } from './features/events/events.routes.js';
import type { EventsService } from './features/events/events.service.js';
import { registerExportRoutes } from './features/export/export.routes.js';
import type { ExportService } from './features/export/export.service.js';
import type { AggregatorMetrics } from './metrics.js';
import { openapiDocument } from './openapi/document.js';

/** What the routes call: built by compose.ts, never a repository or the pool. */
export interface AggregatorServices {
  events: EventsService;
  exports: ExportService;
}

export interface AppDeps {
  config: AggregatorServiceConfig;
  logger: Logger;
  /** Probed by readiness only. */
  db: Knex;
  lifecycle: Lifecycle;
  metrics: AggregatorMetrics;
  services: AggregatorServices;
}

/**
 * The aggregator's Koa app, the event store's ingest and read API: the shared middleware stack
 * (shared/src/http/service-app.ts) around this service's route table, every route behind the
 * bearer token and rate-limited per credential after it. No side effects, no environment reads.
 */
export function createApp(deps: AppDeps): Koa<RequestState> {
  const { config, services, metrics } = deps;
  return createServiceApp({
    ...deps,
    serviceToken: config.AGGREGATOR_SERVICE_TOKEN,
    openapi: { document: openapiDocument, title: 'aggregator-service' },
    routes: (router, limits) => {
      const auth = chain(requireBearer(config.AGGREGATOR_SERVICE_TOKEN), limits.perCredential);
      // The export's fixed path is registered before /events/:id, which would otherwise take it.
      registerExportRoutes(router, { auth, exports: services.exports });
      registerEventRoutes(router, { auth, events: services.events, onIngested: metrics.ingested });
      registerActivityRoutes(router, { auth, events: services.events });
    },
  });
}
