import { runService } from '@hosting/shared';
import { migrations } from '../migrations/index.js';
import { createProjectService } from './compose.js';
import { loadConfig } from './config.js';
import { jwtModeOn } from './http/auth.js';
import { seedIfEmpty } from './features/seed/seed.js';

/**
 * The entry point of project-service: runService reads the environment, starts the embedded
 * PostgreSQL without PROJECT_DATABASE_URL, generates the tokens outside production, listens and
 * handles signals; compose.ts builds the service itself.
 */
runService({
  name: 'project-service',
  databaseUrlEnv: 'PROJECT_DATABASE_URL',
  embeddedDatabase: 'projects',
  secrets: ['PROJECT_SERVICE_TOKEN', 'AGGREGATOR_SERVICE_TOKEN'],
  migrations,
  loadConfig,
  listenOn: (config) => ({ port: config.PROJECT_SERVICE_PORT, host: config.PROJECT_SERVICE_HOST }),
  start: async (config, runtime) => {
    const { db, logger } = runtime;
    const seeded = config.NODE_ENV === 'production' ? undefined : await seedIfEmpty(db);
    if (seeded)
      logger.info(
        { users: seeded.created.users.length, projects: seeded.created.projects.length },
        'empty database seeded with seeds/users.json and seeds/projects.json',
      );
    if (jwtModeOn(config))
      logger.info(
        { issuer: config.AUTH_JWT_ISSUER, audience: config.AUTH_JWT_AUDIENCE, jwks: config.AUTH_JWT_JWKS_URL },
        'JWT mode on: tokens of this provider are accepted beside the service token',
      );
    const service = createProjectService(config, runtime);
    await service.start();
    // The relay and the streams keep working through the drain and end with the listening socket
    // (a client told to reconnect then cannot open a connection here again).
    return { app: service.app, stop: service.stop };
  },
});
