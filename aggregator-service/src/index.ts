/** What the repo's scripts and tests use of aggregator-service. */
export { migrations } from '../migrations/index.js';
export { createAggregatorService, type AggregatorService, type AggregatorServiceRuntime } from './compose.js';
export { loadConfig, aggregatorConfigSchema, type AggregatorServiceConfig } from './config.js';
