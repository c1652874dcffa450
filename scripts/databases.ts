import {
  ConfigError,
  databaseUnreachable,
  embeddedDbSettings,
  startEmbeddedDb,
  type EmbeddedDb,
  type Env,
  type Logger,
} from '@hosting/shared';

/**
 * Where the two databases are: the URL the environment gives for each (checked to answer: one that
 * does not is a ConfigError naming the variable, not a driver's stack trace), or a database
 * (`projects`, `aggregator`) on the embedded PostgreSQL, started on first need here or reused when a
 * running `npm start` already serves the data folder.
 */
const SETTINGS = {
  project: { variable: 'PROJECT_DATABASE_URL', database: 'projects' },
  aggregator: { variable: 'AGGREGATOR_DATABASE_URL', database: 'aggregator' },
} as const;

export type Service = keyof typeof SETTINGS;

/** A URL with its password masked, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a URL)';
  }
}

/** Why the database `variable` names cannot be used, in one line that shows no password; undefined when it answers. */
export async function databaseProblem(variable: string, url: string): Promise<string | undefined> {
  const why = await databaseUnreachable(url, 3_000);
  return why === undefined ? undefined : `${variable}: cannot connect to ${redactUrl(url)} (${why})`;
}

/**
 * `checked`: the caller has already found the given URLs answering (npm start's preflight, which
 * lists every problem at once before anything starts), so they are not connected to a second time.
 */
export function databases(env: Env, options: { logger?: Logger; checked?: boolean } = {}) {
  const { logger, checked = false } = options;
  let embedded: EmbeddedDb | undefined;
  return {
    async url(service: Service): Promise<string> {
      const { variable, database } = SETTINGS[service];
      const given = env[variable];
      if (given) {
        const problem = checked ? undefined : await databaseProblem(variable, given);
        if (problem) throw new ConfigError([problem]);
        return given;
      }
      if (env.NODE_ENV === 'production') throw new ConfigError([`${variable}: required when NODE_ENV=production`]);
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
