/** What the repo's scripts and tests use of aggregator-service. */
export { migrations } from '../migrations/index.js';
export { createApp, type AppDeps } from './app.js';
export { loadConfig, aggregatorConfigSchema, type AggregatorServiceConfig } from './config.js';
