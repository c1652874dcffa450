import { loadDotenv } from '@hosting/shared';
import { createLauncher, readyBanner, serviceEnvironment, waitForHttp } from './launcher.js';
import { preflight } from './preflight.js';

/**
 * `npm start`: the whole system on one machine. Checks the configuration, starts (or reuses) the
 * embedded PostgreSQL when no database URL is given, applies migrations, seeds an empty database,
 * then starts each service as its own process (exactly what a container runs), waits until both
 * answer, and prints the URLs, the tokens and a first curl; each step is printed with its time.
 * How it stops, whichever way, is the launcher's (scripts/launcher.ts).
 */
loadDotenv();
const env = process.env;
const launcher = createLauncher('npm start', env);
const { logger } = launcher;

async function main(): Promise<void> {
  launcher.refuseIfRunning();
  const settings = await launcher.step('checking the configuration', () => preflight(env));
  const { projectPort, aggregatorPort } = settings;
  launcher.claim({ project: projectPort, aggregator: aggregatorPort, postgres: settings.embedded?.port });
  const urls = await launcher.prepareDatabases(settings);

  const tokens = serviceEnvironment(env, urls, aggregatorPort);
  const childEnv = {
    ...tokens.childEnv,
    PROJECT_SERVICE_PORT: String(projectPort),
    AGGREGATOR_SERVICE_PORT: String(aggregatorPort),
  };
  // A service signalled on its own drains and exits 0: the system then stops as a whole, cleanly.
  const onExit = (name: string) => (code: number | null, signal: NodeJS.Signals | null) => {
    if (code === 0) logger.info(`${name} stopped; stopping everything`);
    else logger.error({ code, signal }, `${name} exited unexpectedly; stopping everything`);
    void launcher.stop(code === 0 ? 0 : 1);
  };

  await launcher.step('starting project-service and aggregator-service', async () => {
    const aggregator = launcher.startService(
      'aggregator-service',
      'aggregator-service/dist/src/main.js',
      childEnv,
      onExit('aggregator-service'),
    );
    const project = launcher.startService('project-service', 'project-service/dist/src/main.js', childEnv, onExit('project-service'));
    await Promise.all([
      waitForHttp(`http://127.0.0.1:${aggregatorPort}/healthz`, aggregator),
      waitForHttp(`http://127.0.0.1:${projectPort}/healthz`, project),
    ]);
  });

  // The launcher runs this module in its own process: uptime counts from `npm start`'s node.
  process.stdout.write(`npm start: ready ${process.uptime().toFixed(1)} s after the start\n`);
  process.stdout.write(readyBanner({ env, title: 'The hosting control plane is running.', projectPort, aggregatorPort, tokens }));
}

await main().catch((err: unknown) => launcher.fail(err));
