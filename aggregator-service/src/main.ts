import { runService } from '@hosting/shared';
import { migrations } from '../migrations/index.js';
import { createAggregatorService } from './compose.js';
import { loadConfig } from './config.js';

/**
 * The entry point of aggregator-service: runService reads the environment, starts the embedded
 * PostgreSQL without AGGREGATOR_DATABASE_URL, generates a token outside production, listens and
 * handles signals; compose.ts builds the service itself.
 */
runService({
  name: 'aggregator-service',
  databaseUrlEnv: 'AGGREGATOR_DATABASE_URL',
  embeddedDatabase: 'aggregator',
  secrets: ['AGGREGATOR_SERVICE_TOKEN'],
  migrations,
  loadConfig,
  listenOn: (config) => ({ port: config.AGGREGATOR_SERVICE_PORT, host: config.AGGREGATOR_SERVICE_HOST }),
  start: (config, runtime) => Promise.resolve({ app: createAggregatorService(config, runtime).app }),
});
