import { execFileSync, execSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '@hosting/shared';
import { connectionRefused, holdLock, processTree, root, startSystem, survivors, waitUntilUp, type System } from './processes.js';

/**
 * `npm start` as a user runs it (the launcher, or npm itself, in a process group of its own, as a
 * terminal or a process manager runs it): its steps, its banner, delivery, and every way it
 * ends: Ctrl-C and SIGTERM to the process group (exit 0, database last, nothing left), kill -9
 * of the group (nothing outlives it by more than a few seconds), a second start on the same data
 * folder (refused before compiling), and a user's configuration mistakes (one line each, before
 * anything starts).
 */
const QUIET_STOP = /LISTEN connection lost|database system is shutting down|terminating connection|\n\s+at \S|"level":(40|50|60)/;

const systems: System[] = [];
afterAll(() => {
  for (const system of systems) system.cleanup();
});
async function start(...args: Parameters<typeof startSystem>): Promise<System> {
  const system = await startSystem(...args);
  systems.push(system);
  return system;
}

const tokens = (out: string) => ({
  project: /project-service\s+\S+\s+token: (\S+)/.exec(out)?.[1],
  aggregator: /aggregator-service\s+\S+\s+token: (\S+)/.exec(out)?.[1],
});

it('npm start with a copy of .env.example: each step with its time, working tokens, delivery; Ctrl-C stops the services, then the database, quietly, with 0', async () => {
  // A user who copied .env.example and gave the aggregator another port: delivery must follow it.
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'hosting-start-env-'));
  copyFileSync(path.join(root, '.env.example'), path.join(cwd, '.env'));
  const system = await start('sigint', { cwd, env: { LOG_LEVEL: 'info' } });
  try {
    const out = system.out();
    expect(out).toContain('The hosting control plane is running.');
    for (const step of [
      'compiling TypeScript',
      'checking the configuration',
      'starting the embedded PostgreSQL',
      'applying migrations',
      'seeding an empty database',
      'starting project-service and aggregator-service',
    ]) {
      expect(out).toMatch(new RegExp(`npm start: ${step}.*: done in \\d+\\.\\d s`));
    }
    expect(out).toMatch(/npm start: ready \d+\.\d s after the start/);
    // The tokens this first start generated are said to be generated, and no line says otherwise.
    expect(out).toMatch(/project-service\s+\S+\s+token: \S+ \(generated now/);
    expect(out).not.toContain('"tokenGenerated":false');
    const { project: projectToken, aggregator: aggregatorToken } = tokens(out);

    // The printed first curl, as printed.
    const firstCurl = /curl -s -H "Authorization: Bearer (\S+)" "(\S+)"/.exec(out)!;
    const list = await fetch(firstCurl[2]!, { headers: { authorization: `Bearer ${firstCurl[1]}` } });
    expect(list.status).toBe(200);
    expect(((await list.json()) as unknown[]).length).toBe(8); // seeded: 20 projects, 8 a page

    const created = await fetch(`http://localhost:${system.ports.project}/projects/1/deployment`, {
      method: 'POST',
      headers: { authorization: `Bearer ${projectToken}` },
    });
    expect(created.status).toBe(201);
    const deployment = (await created.json()) as { id: number };

    let events: Array<{ name: string; deploymentId: number }> = [];
    const until = Date.now() + 1_500;
    while (Date.now() < until && !events.some((e) => e.deploymentId === deployment.id)) {
      const res = await fetch(`http://localhost:${system.ports.aggregator}/events?name=deployment.created`, {
        headers: { authorization: `Bearer ${aggregatorToken}` },
      });
      events = ((await res.json()) as { data: typeof events }).data;
      if (!events.some((e) => e.deploymentId === deployment.id)) await new Promise((r) => setTimeout(r, 50));
    }
    expect(events).toContainEqual(expect.objectContaining({ name: 'deployment.created', deploymentId: deployment.id }));

    // Ctrl-C while a request waits on the database: it is answered, because the database stops last.
    const lock = await holdLock(`postgres://postgres:postgres@127.0.0.1:${system.ports.postgres}/projects`, 'projects');
    const inFlight = fetch(`http://127.0.0.1:${system.ports.project}/projects`, { headers: { authorization: `Bearer ${projectToken}` } });
    await lock.waitForBlocked('project-service');
    const tree = processTree(system.child.pid!);
    const before = system.out().length;
    system.signalGroup('SIGINT'); // what the terminal does: the whole foreground process group
    await new Promise((r) => setTimeout(r, 500));
    await lock.release();
    expect((await inFlight).status).toBe(200);
    expect(await system.exited).toEqual({ code: 0, signal: null });
    expect(system.out().slice(before)).not.toMatch(QUIET_STOP);
    expect(await survivors(tree, 5_000)).toEqual([]);
    await expect(fetch(`http://localhost:${system.ports.project}/projects`)).rejects.toThrow();
    expect(await connectionRefused(system.ports.postgres)).toBe(true);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}, 90_000);

it('npm start: a service process signalled on its own drains, and the whole system stops with 0', async () => {
  const system = await start('child');
  expect(system.out()).toContain('The hosting control plane is running.');
  const service = execSync(`pgrep -P ${system.child.pid} -f project-service/dist/src/main.js`).toString().trim();
  process.kill(Number(service), 'SIGTERM');
  expect((await system.exited).code).toBe(0);
  await expect(fetch(`http://localhost:${system.ports.project}/healthz`)).rejects.toThrow();
}, 90_000);

it('a second npm start on the same data folder refuses before compiling, naming the running one, which goes on; SIGTERM to the process group then stops everything with 0', async () => {
  const first = await start('sigterm', { npm: true });
  expect(first.out()).toContain('The hosting control plane is running.');
  const tree = processTree(first.child.pid!);

  const second = await startSystem('sigterm', { npm: true, dataDir: first.dataDir, ports: first.ports, wait: false });
  const { code } = await second.exited;
  expect(code).not.toBe(0);
  const said = second.out();
  expect(said).not.toContain('compiling');
  expect(said).not.toContain('The hosting control plane is running.');
  const pid = Number(/pid (\d+)/.exec(said)?.[1]);
  expect(tree).toContain(pid);
  for (const fact of [first.dataDir, `port ${first.ports.project}`, `port ${first.ports.aggregator}`, `port ${first.ports.postgres}`])
    expect(said).toContain(fact);

  // The running one is untouched.
  await waitUntilUp(first.ports.project);
  const listed = await fetch(`http://127.0.0.1:${first.ports.project}/projects`, {
    headers: { authorization: `Bearer ${tokens(first.out()).project}` },
  });
  expect(listed.status).toBe(200);

  const before = first.out().length;
  const signalledAt = Date.now();
  first.signalGroup('SIGTERM');
  expect((await first.exited).code).toBe(0);
  expect(Date.now() - signalledAt).toBeLessThan(15_000); // the shutdown budget: 12 s for the services, then the database
  expect(first.out().slice(before)).not.toMatch(QUIET_STOP);
  expect(await survivors(tree, 5_000)).toEqual([]);
}, 90_000);

it('kill -9 of the npm start process group: nothing it started outlives it by more than a few seconds; before, the relay said it could not deliver', async () => {
  const nowhere = await freePort(); // nothing listens there: the relay cannot deliver
  const system = await start('kill9', { npm: true, env: { AGGREGATOR_URL: `http://127.0.0.1:${nowhere}` } });
  expect(system.out()).toContain('The hosting control plane is running.');
  const created = await fetch(`http://127.0.0.1:${system.ports.project}/projects/1/deployment`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tokens(system.out()).project}` },
  });
  expect(created.status).toBe(201);
  expect(await system.waitFor(`events cannot be delivered to the aggregator at http://127.0.0.1:${nowhere}`, 20_000)).toBe(true);

  const tree = processTree(system.child.pid!);
  expect(tree.length).toBeGreaterThanOrEqual(6); // npm, its shell, the launcher, two services, PostgreSQL (and its workers), the watchdog
  system.signalGroup('SIGKILL');
  expect(await survivors(tree, 10_000)).toEqual([]);
  for (const port of [system.ports.project, system.ports.aggregator, system.ports.postgres])
    expect(await connectionRefused(port)).toBe(true);
}, 90_000);

describe('a configuration mistake: one line naming the variable, before the database or a service starts, exit 1', () => {
  const cases: Array<[string, () => Promise<Record<string, string>>, RegExp]> = [
    ['LOG_LEVEL=verbose', async () => ({ LOG_LEVEL: 'verbose' }), /LOG_LEVEL=verbose: /],
    ['PROJECT_SERVICE_PORT=abc', async () => ({ PROJECT_SERVICE_PORT: 'abc' }), /PROJECT_SERVICE_PORT=abc: /],
    ['EMBEDDED_PG_PORT=abc', async () => ({ EMBEDDED_PG_PORT: 'abc' }), /EMBEDDED_PG_PORT=abc: /],
    [
      'a taken AGGREGATOR_SERVICE_PORT',
      async () => ({ AGGREGATOR_SERVICE_PORT: String(taken) }),
      /AGGREGATOR_SERVICE_PORT: port \d+ is taken/,
    ],
    [
      'an unreachable PROJECT_DATABASE_URL',
      async () => ({ PROJECT_DATABASE_URL: `postgres://app:s3cret-pw@127.0.0.1:${await freePort()}/projects` }),
      /PROJECT_DATABASE_URL: cannot connect to postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/projects/,
    ],
  ];
  let holder: net.Server;
  let taken: number;
  beforeAll(async () => {
    holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '0.0.0.0', r));
    taken = (holder.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise((r) => holder.close(r)));

  it.each(cases)(
    '%s',
    async (name, env, message) => {
      const system = await start(`config-${name.replace(/\W+/g, '-')}`, { env: await env(), wait: false });
      const { code } = await system.exited;
      const out = system.out();
      expect(code).toBe(1);
      expect(out).toMatch(message);
      expect(out).not.toMatch(/\n\s+at \S/);
      expect(out).not.toContain('s3cret-pw');
      expect(out).not.toContain('starting the embedded PostgreSQL');
      expect(existsSync(path.join(system.dataDir, 'postgres'))).toBe(false);
    },
    60_000,
  );
});

(process.getuid?.() === 0 ? it : it.skip)(
  'as root, a data folder the postgres user cannot enter (mode 700): one line that says why and what to do',
  async () => {
    const locked = mkdtempSync(path.join(os.tmpdir(), 'hosting-start-locked-')); // mode 700, like root's home
    try {
      const system = await start('locked', { dataDir: path.join(locked, 'data'), wait: false });
      const { code } = await system.exited;
      const out = system.out();
      expect(code).toBe(1);
      expect(out).toContain(`cannot enter ${locked} (mode 700)`);
      expect(out).toMatch(/Run npm start as a regular user/);
      expect(out).not.toMatch(/\n\s+at \S|EACCES/);
    } finally {
      rmSync(locked, { recursive: true, force: true });
    }
  },
  60_000,
);

(process.getuid?.() === 0 ? it : it.skip)(
  'as root, a clone in a folder the postgres user cannot enter: the embedded PostgreSQL still starts (binaries copied where it can reach them), as the test suite needs',
  async () => {
    // The clone: hard links of the built tree in a mode-700 folder (nothing here writes to them).
    const locked = mkdtempSync(path.join(os.tmpdir(), 'hosting-start-clone-'));
    const tmp = path.join(os.tmpdir(), `hosting-start-tmp-${process.pid}`); // its own temp dir, so the copy is made here
    const dataDir = path.join(os.tmpdir(), `hosting-start-lockedclone-${process.pid}`);
    mkdirSync(tmp, { mode: 0o755 });
    mkdirSync(path.join(locked, 'x'));
    execFileSync('cp', [
      '-al',
      ...['node_modules', 'shared', 'scripts', 'project-service', 'aggregator-service', 'seeds', 'package.json'].map((f) =>
        path.join(root, f),
      ),
      path.join(locked, 'x'),
    ]);
    const [pg, project, aggregator] = [await freePort(), await freePort(), await freePort()];
    const child = spawn(process.execPath, [path.join(locked, 'x', 'scripts', 'dist', 'start.js')], {
      cwd: path.join(locked, 'x'),
      detached: true,
      env: {
        PATH: process.env.PATH,
        TMPDIR: tmp,
        DATA_DIR: dataDir,
        EMBEDDED_PG_PORT: String(pg),
        PROJECT_SERVICE_PORT: String(project),
        AGGREGATOR_SERVICE_PORT: String(aggregator),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('Ctrl-C stops everything') && child.exitCode === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain('The hosting control plane is running.');
      expect(out).not.toMatch(/EACCES|\n\s+at \S/);
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      for (const dir of [locked, tmp, dataDir]) rmSync(dir, { recursive: true, force: true });
    }
  },
  90_000,
);
