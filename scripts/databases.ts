import { embeddedDbSettings, startEmbeddedDb, type EmbeddedDb, type Env, type Logger } from '@hosting/shared';

/**
 * Where the two databases are: the URL the environment gives for each, or a database (`projects`,
 * `aggregator`) on the embedded PostgreSQL, started on first need here or reused when a running
 * `npm start` already serves the data folder.
 */
const SETTINGS = {
  project: { variable: 'PROJECT_DATABASE_URL', database: 'projects' },
  aggregator: { variable: 'AGGREGATOR_DATABASE_URL', database: 'aggregator' },
} as const;

export type Service = keyof typeof SETTINGS;

export function databases(env: Env, logger?: Logger) {
  let embedded: EmbeddedDb | undefined;
  return {
    async url(service: Service): Promise<string> {
      const { variable, database } = SETTINGS[service];
      const given = env[variable];
      if (given) return given;
      if (env.NODE_ENV === 'production') throw new Error(`${variable} is required when NODE_ENV=production`);
      if (!embedded) {
        const settings = embeddedDbSettings(env);
        logger?.debug(`starting the embedded PostgreSQL on port ${settings.port} (data in ${settings.dataDir})`);
        embedded = await startEmbeddedDb({ ...settings, onLog: (line) => logger?.debug({ postgres: line }) });
      }
      await embedded.ensureDatabase(database);
      return embedded.url(database);
    },
    /** The embedded server, once a database on it was asked for. */
    get embedded(): EmbeddedDb | undefined {
      return embedded;
    },
    /** Stops the embedded server if this process started it. */
    async stop(): Promise<void> {
      await embedded?.stop();
    },
  };
}
