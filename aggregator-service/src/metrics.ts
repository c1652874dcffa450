import { Counter } from 'prom-client';
import { createHttpMetrics, type HttpMetrics, type Knex } from '@hosting/shared';

/** aggregator-service's Prometheus metrics (names are the contract of ops/prometheus/alerts.yml). */
export interface AggregatorMetrics extends HttpMetrics {
  ingested: (stored: number, duplicates: number) => void;
}

export function createAggregatorMetrics(deps: { db: Knex }): AggregatorMetrics {
  const http = createHttpMetrics('aggregator-service', deps.db);
  const registers = [http.registry];
  const events = new Counter({
    name: 'aggregator_events_total',
    help: 'Events received, by result',
    labelNames: ['result'] as const,
    registers,
  });
  events.inc({ result: 'stored' }, 0);
  events.inc({ result: 'duplicate' }, 0);
  return {
    ...http,
    ingested: (stored, duplicates) => {
      events.inc({ result: 'stored' }, stored);
      events.inc({ result: 'duplicate' }, duplicates);
    },
  };
}
