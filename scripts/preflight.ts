import { loadConfig as loadAggregatorConfig } from '@hosting/aggregator-service';
import { loadConfig as loadProjectConfig } from '@hosting/project-service';
import { ConfigError, embeddedDbSettings, portIsFree, type Env } from '@hosting/shared';
import { databaseProblem } from './databases.js';

/**
 * What `npm start` checks before it starts anything: the configuration, with the services' own
 * schemas and messages (each service checks it again when it starts, alone or under npm start),
 * the ports, and the database servers given by URL. Every problem is one line naming the
 * variable; a password in a URL is never printed.
 */

/** Values npm start decides later (a generated token, an embedded database): stand-ins for the check only. */
const DECIDED_LATER = {
  PROJECT_DATABASE_URL: 'postgres://embedded@127.0.0.1/projects',
  AGGREGATOR_DATABASE_URL: 'postgres://embedded@127.0.0.1/aggregator',
  PROJECT_SERVICE_TOKEN: 'generated-later-generated-later',
  AGGREGATOR_SERVICE_TOKEN: 'generated-later-generated-later',
};

function schemaProblems(load: (env: Env) => unknown, env: Env): string[] {
  try {
    load(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

export interface StartSettings {
  projectPort: number;
  aggregatorPort: number;
  /** Set when one of the databases is the embedded one. */
  embedded?: { port: number; dataDir: string };
  /** As configured, for `npm run cluster`, which puts HAProxy in front and needs a drain. */
  trustProxy: number;
  drainDelayMs: number;
}

/** Checks everything; throws a ConfigError listing every problem, or returns what npm start needs. */
export async function preflight(env: Env): Promise<StartSettings> {
  const withStandIns: Env = { ...DECIDED_LATER, ...Object.fromEntries(Object.entries(env).filter(([, v]) => v)) };
  const problems = [
    ...new Set([...schemaProblems(loadProjectConfig, withStandIns), ...schemaProblems(loadAggregatorConfig, withStandIns)]),
  ];
  const needsEmbedded = !env.PROJECT_DATABASE_URL || !env.AGGREGATOR_DATABASE_URL;
  let embedded: StartSettings['embedded'];
  if (needsEmbedded) {
    try {
      embedded = embeddedDbSettings(env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const project = loadProjectConfig(withStandIns);
  const aggregator = loadAggregatorConfig(withStandIns);
  const ports: Array<[string, number, string]> = [
    ['PROJECT_SERVICE_PORT', project.PROJECT_SERVICE_PORT, project.PROJECT_SERVICE_HOST],
    ['AGGREGATOR_SERVICE_PORT', aggregator.AGGREGATOR_SERVICE_PORT, aggregator.AGGREGATOR_SERVICE_HOST],
  ];
  if (project.PROJECT_SERVICE_PORT === aggregator.AGGREGATOR_SERVICE_PORT)
    problems.push(
      `PROJECT_SERVICE_PORT and AGGREGATOR_SERVICE_PORT: both are ${project.PROJECT_SERVICE_PORT}; give each service its own port`,
    );
  for (const [variable, port, host] of ports) {
    if (port !== 0 && !(await portIsFree(port, host)))
      problems.push(`${variable}: port ${port} is taken by another program; set ${variable} to a free port`);
  }
  for (const variable of ['PROJECT_DATABASE_URL', 'AGGREGATOR_DATABASE_URL'] as const) {
    const url = env[variable];
    if (url) {
      const problem = await databaseProblem(variable, url);
      if (problem) problems.push(problem);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    projectPort: project.PROJECT_SERVICE_PORT,
    aggregatorPort: aggregator.AGGREGATOR_SERVICE_PORT,
    embedded,
    trustProxy: project.TRUST_PROXY,
    drainDelayMs: project.SHUTDOWN_DRAIN_DELAY_MS,
  };
}
