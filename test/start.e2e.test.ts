import { execSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@hosting/shared';

/**
 * `npm start` as a user runs it (the compiled orchestrator): on a fresh data folder it starts the
 * embedded PostgreSQL, both services, seeds, prints the tokens and a first curl that works; an
 * action shows up in the aggregator within about a second; Ctrl-C (SIGINT) stops it all with 0.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function startSystem(name: string) {
  const dataDir = path.join(os.tmpdir(), `hosting-start-e2e-${name}-${process.pid}`);
  const [pgPort, projectPort, aggregatorPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [path.join(root, 'scripts', 'dist', 'start.js')], {
    env: {
      PATH: process.env.PATH,
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(pgPort),
      PROJECT_SERVICE_PORT: String(projectPort),
      AGGREGATOR_SERVICE_PORT: String(aggregatorPort),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!out.includes('Ctrl-C stops everything') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const cleanup = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  return { child, out: () => out, exited, projectPort, aggregatorPort, cleanup };
}

it('npm start: prints working tokens, delivers events, stops cleanly on Ctrl-C', async () => {
  const { child, out: output, exited, projectPort, aggregatorPort, cleanup } = await startSystem('sigint');
  const out = output();
  try {
    expect(out).toContain('The hosting control plane is running.');
    const projectToken = /project-service\s+\S+\s+token: (\S+)/.exec(out)?.[1];
    const aggregatorToken = /aggregator-service\s+\S+\s+token: (\S+)/.exec(out)?.[1];
    expect(projectToken).toBeDefined();

    // The printed first curl, as printed.
    const firstCurl = /curl -s -H "Authorization: Bearer (\S+)" "(\S+)"/.exec(out)!;
    const list = await fetch(firstCurl[2]!, { headers: { authorization: `Bearer ${firstCurl[1]}` } });
    expect(list.status).toBe(200);
    expect(((await list.json()) as unknown[]).length).toBe(8); // seeded: 20 projects, 8 a page

    const created = await fetch(`http://localhost:${projectPort}/projects/1/deployment`, { method: 'POST', headers: { authorization: `Bearer ${projectToken}` } });
    expect(created.status).toBe(201);
    const deployment = (await created.json()) as { id: number };

    let events: Array<{ name: string; deploymentId: number }> = [];
    const until = Date.now() + 1_500;
    while (Date.now() < until && !events.some((e) => e.deploymentId === deployment.id)) {
      const res = await fetch(`http://localhost:${aggregatorPort}/events?name=deployment.created`, { headers: { authorization: `Bearer ${aggregatorToken}` } });
      events = ((await res.json()) as { data: typeof events }).data;
      if (!events.some((e) => e.deploymentId === deployment.id)) await new Promise((r) => setTimeout(r, 50));
    }
    expect(events).toContainEqual(expect.objectContaining({ name: 'deployment.created', deploymentId: deployment.id }));

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // Everything is down: the services and the database.
    await expect(fetch(`http://localhost:${projectPort}/projects`)).rejects.toThrow();
    await expect(fetch(`http://localhost:${aggregatorPort}/events`)).rejects.toThrow();
  } finally {
    cleanup();
  }
}, 60_000);

it('npm start: a service process signalled on its own drains, and the whole system stops with 0', async () => {
  const { child, out, exited, projectPort, cleanup } = await startSystem('child');
  try {
    expect(out()).toContain('The hosting control plane is running.');
    const service = execSync(`pgrep -P ${child.pid} -f project-service/dist/src/main.js`).toString().trim();
    process.kill(Number(service), 'SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`http://localhost:${projectPort}/healthz`)).rejects.toThrow();
  } finally {
    cleanup();
  }
}, 60_000);
