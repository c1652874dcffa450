import { Counter, Gauge } from 'prom-client';
import { createHttpMetrics, type HttpMetrics, type Knex } from '@hosting/shared';
import type { OutboxRepo } from './events/outbox.repo.js';
import type { ProjectsRepo } from './features/projects/projects.repo.js';
import { WEBHOOK_OUTCOMES, type WebhookCallOutcome } from './features/deployments/deployment-status.js';

/**
 * project-service's Prometheus metrics. The gauges that describe the database (outbox backlog,
 * readiness, busy projects) are read when Prometheus scrapes, so they are true in every process
 * and cost nothing between scrapes. Names are the contract of ops/prometheus/alerts.yml.
 */
export interface ProjectMetrics extends HttpMetrics {
  /** One webhook call, labelled with the X-Webhook-Outcome vocabulary (WEBHOOK_OUTCOMES). */
  webhookOutcome(outcome: WebhookCallOutcome): void;
  relayAttempt: (result: 'delivered' | 'failed', events: number) => void;
}

export function createProjectMetrics(deps: {
  db: Knex;
  outbox: OutboxRepo;
  projects: ProjectsRepo;
  ongoingThreshold: number;
}): ProjectMetrics {
  const http = createHttpMetrics('project-service', deps.db);
  const registers = [http.registry];
  const webhook = new Counter({
    name: 'webhook_outcomes_total',
    help: 'Webhook calls by outcome',
    labelNames: ['outcome'] as const,
    registers,
  });
  const attempts = new Counter({
    name: 'outbox_relay_attempts_total',
    help: 'Batch deliveries to the aggregator by result',
    labelNames: ['result'] as const,
    registers,
  });
  const events = new Counter({
    name: 'outbox_relay_events_total',
    help: 'Events in batch deliveries by result',
    labelNames: ['result'] as const,
    registers,
  });
  for (const outcome of WEBHOOK_OUTCOMES) webhook.inc({ outcome }, 0);
  for (const result of ['delivered', 'failed']) {
    attempts.inc({ result }, 0);
    events.inc({ result }, 0);
  }

  /** A gauge read from the database at each scrape. A failed read leaves the previous value; service_ready says the database is away. */
  const scraped = (name: string, help: string, read: () => Promise<number>) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        await read().then(
          (n) => this.set(n),
          () => undefined,
        );
      },
    });
  scraped(
    'outbox_backlog_events',
    'Events in the outbox not yet delivered to the aggregator',
    async () => (await deps.outbox.status()).undelivered,
  );
  scraped(
    'outbox_oldest_undelivered_age_seconds',
    'Age of the oldest undelivered outbox event (0 when none)',
    async () => (await deps.outbox.status()).oldestUndeliveredAgeSeconds,
  );
  scraped(
    'projects_over_ongoing_threshold',
    `Projects with more than ${deps.ongoingThreshold} deployments in progress at once (GET /ops/busy-projects lists them)`,
    () => deps.projects.countBusy(deps.ongoingThreshold),
  );

  return {
    ...http,
    webhookOutcome: (outcome) => webhook.inc({ outcome }),
    relayAttempt: (result, n) => {
      attempts.inc({ result });
      events.inc({ result }, n);
    },
  };
}
