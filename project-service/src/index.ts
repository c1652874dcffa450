/** What the repo's scripts and tests use of project-service. */
export { migrations } from '../migrations/index.js';
export { createProjectService, type ProjectService, type ProjectServiceRuntime } from './compose.js';
export { loadConfig, projectConfigSchema, type ProjectServiceConfig } from './config.js';
export { applySeed, describeSeedReport, readSeedFiles, isEmpty, seedIfEmpty, SeedError, type SeedReport } from './features/seed/seed.js';
export { defaultSeedFiles } from './features/seed/default-files.js';
export { createOutboxRelay, type OutboxRelay } from './events/outbox-relay.js';
export { createOutboxRepo } from './events/outbox.repo.js';
export { createAggregatorClient } from './events/aggregator-client.js';
export { webhookOutcome } from './features/deployments/deployment-status.js';
export { generateProjectUrl } from './features/deployments/project-url.js';
