import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { SERVICE_NODE_OPTIONS, freePort, sha256 } from '@hosting/shared';
import { createTestDatabase, databaseUrl, withAdmin, type TestDatabase } from '@hosting/shared/testing';

/**
 * The container setup, checked without a Docker engine:
 * - the Dockerfile's and docker-compose.yml's shape (non-root, healthcheck, exec-form commands,
 *   what the runtime stage holds, the compose dependency chain, tokens required);
 * - `docker-compose config` when docker-compose (or `docker compose`) is installed;
 * - the container's commands themselves, run exactly as written there (parsed from the files, so
 *   this breaks when they change), from the repo root, with NODE_ENV=production, against the
 *   embedded test PostgreSQL: migrate, seed, both services, the image's HEALTHCHECK, SIGTERM.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const projectToken = `docker-project-${randomBytes(12).toString('hex')}`;
const aggregatorToken = `docker-aggregator-${randomBytes(12).toString('hex')}`;

// ---------------------------------------------------------------- Dockerfile parsing

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** Instructions of a Dockerfile (comments dropped, `\` continuations joined), each with its stage index. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && /^\s*#/.test(line)) continue;
    if (current !== '' && /^\s*#/.test(line)) continue; // comment lines inside a continuation
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  let stage = -1;
  return logical.map((l) => {
    const [, keyword, args] = /^(\S+)\s*(.*)$/s.exec(l)!;
    if (keyword!.toUpperCase() === 'FROM') stage++;
    return { keyword: keyword!.toUpperCase(), args: args!, stage };
  });
}

const dockerfile = parseDockerfile(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const finalStage = dockerfile.filter((i) => i.stage === Math.max(...dockerfile.map((d) => d.stage)));
const last = (keyword: string) => finalStage.filter((i) => i.keyword === keyword).at(-1);

/** An exec-form command (`["node", "x.js"]`); a shell-form one is refused (node must be PID 1 to get SIGTERM). */
function execForm(args: string, what: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw new Error(`${what} must be in exec form (a JSON array), got: ${args}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === 'string')) throw new Error(`${what}: not a JSON array of strings: ${args}`);
  return parsed as string[];
}

function dockerfileCmd(): string[] {
  const cmd = last('CMD');
  if (!cmd) throw new Error('the Dockerfile has no CMD in its final stage');
  return execForm(cmd.args, 'CMD');
}

function dockerfileHealthcheck(): string[] {
  const hc = last('HEALTHCHECK');
  if (!hc) throw new Error('the Dockerfile has no HEALTHCHECK in its final stage');
  const m = /^(?:--\S+\s+)*CMD\s+(.*)$/s.exec(hc.args);
  if (!m) throw new Error(`HEALTHCHECK without CMD: ${hc.args}`);
  return execForm(m[1]!, 'HEALTHCHECK CMD');
}

/** Where each final-stage COPY puts its files (relative to WORKDIR /app), and from where. */
function runtimeCopies(): Array<{ from?: string; sources: string[]; dest: string }> {
  return finalStage
    .filter((i) => i.keyword === 'COPY')
    .map((i) => {
      const parts = i.args.split(/\s+/);
      const flags = parts.filter((p) => p.startsWith('--'));
      const paths = parts.filter((p) => !p.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1)!.replace(/^\.\/?/, '') };
    });
}

// ---------------------------------------------------------------- docker-compose.yml

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  ports?: string[];
  volumes?: string[];
}
const compose = parseYaml(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };

function composeCommand(service: string): string[] {
  const command = compose.services[service]?.command;
  if (!Array.isArray(command)) throw new Error(`docker-compose.yml: ${service}.command must be an exec-form list, got ${JSON.stringify(command)}`);
  return command;
}

/** A container command run on this machine: `node` is this node; paths are relative to the repo root as to WORKDIR /app. */
function run(command: string[], env: Record<string, string>, stdio: 'pipe' | 'ignore' = 'pipe'): ChildProcess {
  const [bin, ...args] = command;
  return spawn(bin === 'node' ? process.execPath : bin!, args, { cwd: root, env, stdio: ['ignore', stdio, stdio] });
}

function collect(child: ChildProcess): () => string {
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  return () => out;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function runToEnd(command: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const child = run(command, env);
  const output = collect(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const { code } = await exitOf(child);
  clearTimeout(timer);
  return { code, output: output() };
}

/** The environment of a container: nothing of ours leaks in but PATH. */
function containerEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', NODE_ENV: 'production', LOG_LEVEL: 'warn', ...extra };
}

async function waitForHealthz(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the process exited with ${child.exitCode} before answering:\n${output()}`);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
    if (res) {
      expect(res.status).toBe(200);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answered on port ${port} within 20 s:\n${output()}`);
}

async function stopWithSigterm(child: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const exited = exitOf(child);
  child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000).unref());
  const result = await Promise.race([exited, timeout]);
  if (result === 'timeout') {
    child.kill('SIGKILL');
    throw new Error('the process did not exit within 10 s of SIGTERM');
  }
  return { code: result.code, ms: Date.now() - started };
}

async function healthcheck(port: number): Promise<number | null> {
  return (await runToEnd(dockerfileHealthcheck(), { PATH: process.env.PATH ?? '', SERVICE_PORT: String(port) }, 10_000)).code;
}

// ================================================================ the files themselves

describe('Dockerfile', () => {
  it('runs as a non-root user, exposes both ports, has a HEALTHCHECK and an exec-form CMD of project-service', () => {
    const user = last('USER');
    expect(user).toBeDefined();
    expect(['root', '0', '0:0', 'root:root']).not.toContain(user!.args.trim());
    // USER comes before CMD, so the service runs as that user
    expect(finalStage.indexOf(user!)).toBeLessThan(finalStage.indexOf(last('CMD')!));
    expect(last('EXPOSE')?.args.split(/\s+/).sort()).toEqual(['3000', '3001']);
    expect(dockerfileHealthcheck()[0]).toBe('node');
    expect(dockerfileCmd()).toEqual(['node', 'project-service/dist/src/main.js']);
    expect(finalStage.some((i) => i.keyword === 'ENV' && /\bNODE_ENV[= ]production\b/.test(i.args))).toBe(true);
    // the same V8 heap sizes as npm start and the benchmark
    expect(finalStage.some((i) => i.keyword === 'ENV' && i.args === `NODE_OPTIONS="${SERVICE_NODE_OPTIONS}"`)).toBe(true);
    // two stages, both on the slim Node 20 image; the final one installs production dependencies only
    expect(dockerfile.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0])).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
    const install = finalStage.find((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(install?.args).toMatch(/--omit=dev/);
  });

  it('the runtime stage holds every file the image and compose commands run, and the build context has what COPY names', () => {
    const copies = runtimeCopies();
    const commands = [dockerfileCmd(), dockerfileHealthcheck(), ...Object.keys(compose.services).filter((s) => compose.services[s]!.command).map(composeCommand)];
    for (const command of commands) {
      const script = command.find((p) => /\.(m?js)$/.test(p));
      expect(script).toBeDefined();
      const copied = copies.some((c) => script === c.dest || script!.startsWith(`${c.dest.replace(/\/$/, '')}/`));
      if (!copied) throw new Error(`${script} (from ${JSON.stringify(command)}) is not copied into the runtime stage`);
      // and the file exists here after the build (tsc -b ran before jest)
      expect(existsSync(path.join(root, script!))).toBe(true);
    }
    // the seed files the seed command reads by default
    expect(copies.some((c) => c.dest === 'seeds' || c.dest.startsWith('seeds'))).toBe(true);
    // every COPY from the build context (not from a stage) names files that exist
    for (const i of dockerfile.filter((d) => d.keyword === 'COPY' && !/--from=/.test(d.args))) {
      const paths = i.args.split(/\s+/).filter((p) => !p.startsWith('--')).slice(0, -1);
      for (const p of paths) expect({ copy: p, exists: existsSync(path.join(root, p)) }).toEqual({ copy: p, exists: true });
    }
  });

  it('.dockerignore keeps local installs, builds, data and secrets out of the build context', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const pattern of ['**/node_modules', '**/dist', '.data', '.env', '.git', '**/*.tsbuildinfo']) expect(ignored).toContain(pattern);
  });
});

describe('docker-compose.yml', () => {
  it('postgres (healthy) → migrate (completed) → both services, from one image, in production', () => {
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual(['aggregator-service', 'migrate', 'postgres', 'project-service']);
    expect(s.postgres!.image).toBe('postgres:16');
    expect(JSON.stringify(s.postgres!.healthcheck?.test)).toContain('pg_isready');
    expect(s.migrate!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(composeCommand('migrate')).toEqual(['node', 'scripts/dist/migrate.js']);
    for (const name of ['project-service', 'aggregator-service']) {
      expect(s[name]!.depends_on).toEqual({ migrate: { condition: 'service_completed_successfully' } });
    }
    expect(composeCommand('aggregator-service')).toEqual(['node', 'aggregator-service/dist/src/main.js']);
    // project-service runs the image's default command (stated, so the file reads on its own)
    expect(composeCommand('project-service')).toEqual(dockerfileCmd());
    const images = new Set(['migrate', 'project-service', 'aggregator-service'].map((n) => s[n]!.image));
    expect(images.size).toBe(1);
    for (const name of ['migrate', 'project-service', 'aggregator-service']) {
      expect(s[name]!.build).toBeDefined();
      expect(s[name]!.environment?.NODE_ENV).toBe('production');
    }
    expect(s['project-service']!.environment?.AGGREGATOR_URL).toBe('http://aggregator-service:3001');
    expect(s['project-service']!.ports).toEqual(['${PROJECT_SERVICE_PORT:-3000}:3000']);
    expect(s['aggregator-service']!.ports).toEqual(['${AGGREGATOR_SERVICE_PORT:-3001}:3001']);
  });

  it('requires the tokens (no default), and shares the aggregator token between the services', () => {
    const env = (n: string) => compose.services[n]!.environment ?? {};
    expect(env('project-service').PROJECT_SERVICE_TOKEN).toMatch(/^\$\{PROJECT_SERVICE_TOKEN:\?.+\}$/);
    expect(env('project-service').AGGREGATOR_SERVICE_TOKEN).toMatch(/^\$\{AGGREGATOR_SERVICE_TOKEN:\?.+\}$/);
    expect(env('aggregator-service').AGGREGATOR_SERVICE_TOKEN).toBe(env('project-service').AGGREGATOR_SERVICE_TOKEN);
    // each service gets only its own database
    expect(env('project-service').AGGREGATOR_DATABASE_URL).toBeUndefined();
    expect(env('aggregator-service').PROJECT_DATABASE_URL).toBeUndefined();
    expect(env('aggregator-service').PROJECT_SERVICE_TOKEN).toBeUndefined();
  });

  it('the init script creates exactly the databases the URLs name, and is mounted where postgres runs it', () => {
    const mount = compose.services.postgres!.volumes?.find((v) => v.includes(':/docker-entrypoint-initdb.d'));
    expect(mount).toBeDefined();
    const dir = path.join(root, mount!.split(':')[0]!);
    const created = new Set<string>();
    for (const file of ['01-databases.sql']) {
      for (const m of readFileSync(path.join(dir, file), 'utf8').matchAll(/create\s+database\s+"?(\w+)"?/gi)) created.add(m[1]!);
    }
    const named = new Set<string>();
    for (const service of Object.values(compose.services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (key.endsWith('_DATABASE_URL')) named.add(/@postgres:5432\/(\w+)$/.exec(value)?.[1] ?? `unparsable: ${value}`);
      }
    }
    expect([...named].sort()).toEqual(['aggregator', 'projects']);
    expect([...created].sort()).toEqual([...named].sort());
  });
});

// ---------------------------------------------------------------- docker-compose config

function composeCli(): string[] | undefined {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  return undefined;
}
const cli = composeCli();
if (!cli) console.warn('test/docker.test.ts: neither docker-compose nor `docker compose` is installed; skipping the `docker-compose config` checks');

describe('docker-compose config', () => {
  // An empty --env-file, so that a developer's .env cannot provide (or break) what is tested.
  let emptyEnvFile: string;
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hosting-compose-'));
    emptyEnvFile = path.join(dir, 'empty.env');
    writeFileSync(emptyEnvFile, '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const config = (env: Record<string, string>) => {
    const [bin, ...pre] = cli!;
    const result = spawnSync(bin!, [...pre, '--env-file', emptyEnvFile, '-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, stderr: `${result.stderr}${result.error ?? ''}` };
  };

  (cli ? it : it.skip)('is valid with both tokens set, and fails naming the token that is missing', () => {
    const ok = config({ PROJECT_SERVICE_TOKEN: projectToken, AGGREGATOR_SERVICE_TOKEN: aggregatorToken });
    expect(ok).toEqual({ status: 0, stderr: '' });
    const noProject = config({ AGGREGATOR_SERVICE_TOKEN: aggregatorToken });
    expect(noProject.status).not.toBe(0);
    expect(noProject.stderr).toContain('set PROJECT_SERVICE_TOKEN');
    const noAggregator = config({ PROJECT_SERVICE_TOKEN: projectToken });
    expect(noAggregator.status).not.toBe(0);
    expect(noAggregator.stderr).toContain('set AGGREGATOR_SERVICE_TOKEN');
  });
});

// ================================================================ the commands, outside a container

describe("the containers' commands, outside a container, against the test PostgreSQL", () => {
  const empty: string[] = [];
  afterAll(async () => {
    await withAdmin(async (client) => {
      for (const name of empty) await client.query(`drop database if exists ${name} with (force)`);
    });
  });

  async function emptyDatabase(): Promise<string> {
    const name = `docker_${randomBytes(6).toString('hex')}`;
    await withAdmin((client) => client.query(`create database ${name}`));
    empty.push(name);
    return databaseUrl(name);
  }

  it('migrate (its compose command) migrates two empty databases, and again is a no-op; the documented seed command seeds', async () => {
    const [projectUrl, aggregatorUrl] = [await emptyDatabase(), await emptyDatabase()];
    const env = containerEnv({ PROJECT_DATABASE_URL: projectUrl, AGGREGATOR_DATABASE_URL: aggregatorUrl, LOG_LEVEL: 'info' });
    const first = await runToEnd(composeCommand('migrate'), env);
    expect(first).toMatchObject({ code: 0 });
    expect(first.output).toMatch(/project: \d+ migration\(s\) applied/);
    expect(first.output).toMatch(/aggregator: \d+ migration\(s\) applied/);
    const again = await runToEnd(composeCommand('migrate'), env);
    expect(again).toMatchObject({ code: 0 });
    expect(again.output).toContain('project: up to date');
    expect(again.output).toContain('aggregator: up to date');

    // The seed command as the README documents it for compose.
    const doc = readFileSync(path.join(root, 'README.md'), 'utf8');
    const documented = /docker compose run --rm project-service (node scripts\/dist\/seed\.js)\b/.exec(doc);
    expect(documented).not.toBeNull();
    const seed = await runToEnd(documented![1]!.split(' '), containerEnv({ PROJECT_DATABASE_URL: projectUrl }));
    expect(seed).toMatchObject({ code: 0 });
    expect(seed.output).toMatch(/Seeded 4 users .* and 20 projects/);

    // a production start needs its database URL: the migrate command refuses to guess
    const noUrl = await runToEnd(composeCommand('migrate'), containerEnv({ AGGREGATOR_DATABASE_URL: aggregatorUrl }));
    expect(noUrl.code).not.toBe(0);
    expect(noUrl.output).toContain('PROJECT_DATABASE_URL is required when NODE_ENV=production');
  }, 60_000);

  describe('the image command (project-service) and the compose command of aggregator-service', () => {
    let project: TestDatabase;
    let aggregator: TestDatabase;
    let dataDir: string;
    const children: ChildProcess[] = [];
    beforeAll(async () => {
      [project, aggregator] = await Promise.all([createTestDatabase('project'), createTestDatabase('aggregator')]);
      dataDir = mkdtempSync(path.join(os.tmpdir(), 'hosting-docker-data-'));
      rmSync(dataDir, { recursive: true }); // must stay absent: production writes nothing locally
    });
    afterAll(async () => {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await Promise.all([project?.drop(), aggregator?.drop()]);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('both answer /healthz and the HEALTHCHECK, serve authenticated requests, deliver events, and exit 0 on SIGTERM within 10 s', async () => {
      const [aggregatorPort, projectPort] = [await freePort(), await freePort()];

      const aggregatorChild = run(
        composeCommand('aggregator-service'),
        containerEnv({
          AGGREGATOR_DATABASE_URL: aggregator.url,
          AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
          AGGREGATOR_SERVICE_PORT: String(aggregatorPort),
          AGGREGATOR_SERVICE_HOST: '127.0.0.1',
          DATA_DIR: dataDir,
        }),
      );
      children.push(aggregatorChild);
      const aggregatorOutput = collect(aggregatorChild);

      const projectChild = run(
        dockerfileCmd(),
        containerEnv({
          PROJECT_DATABASE_URL: project.url,
          PROJECT_SERVICE_TOKEN: projectToken,
          AGGREGATOR_SERVICE_TOKEN: aggregatorToken,
          AGGREGATOR_URL: `http://127.0.0.1:${aggregatorPort}`,
          PROJECT_SERVICE_PORT: String(projectPort),
          PROJECT_SERVICE_HOST: '127.0.0.1',
          PUBLIC_BASE_URL: `http://127.0.0.1:${projectPort}`,
          DATA_DIR: dataDir,
          OUTBOX_POLL_MS: '100',
        }),
      );
      children.push(projectChild);
      const projectOutput = collect(projectChild);

      await Promise.all([waitForHealthz(aggregatorPort, aggregatorChild, aggregatorOutput), waitForHealthz(projectPort, projectChild, projectOutput)]);

      // the image's HEALTHCHECK command, as written in the Dockerfile
      expect(await healthcheck(projectPort)).toBe(0);
      expect(await healthcheck(aggregatorPort)).toBe(0);

      // authenticated requests; production does not seed, so the list is empty
      const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
      const projects = await fetch(`http://127.0.0.1:${projectPort}/projects`, auth(projectToken));
      expect(projects.status).toBe(200);
      expect(await projects.json()).toEqual([]);
      expect(projects.headers.get('x-total-count')).toBe('0');
      expect((await fetch(`http://127.0.0.1:${projectPort}/projects`)).status).toBe(401);
      const events = await fetch(`http://127.0.0.1:${aggregatorPort}/events`, auth(aggregatorToken));
      expect(events.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${aggregatorPort}/events`, auth(projectToken))).status).toBe(401);

      // the two wired as compose wires them: an action in project-service reaches the aggregator
      const [user] = await project.db('users').insert({ email: 'docker@example.com', username: 'docker' }).returning('id');
      const [p] = await project.db('projects').insert({ name: 'docker', user_id: user!.id, app_secret_sha256: sha256('d'.repeat(32)) }).returning('id');
      const created = await fetch(`http://127.0.0.1:${projectPort}/projects/${p!.id}/deployment`, { method: 'POST', ...auth(projectToken) });
      expect(created.status).toBe(201);
      const deployment = (await created.json()) as { id: number };
      let delivered = false;
      for (const until = Date.now() + 10_000; !delivered && Date.now() < until; ) {
        const res = await fetch(`http://127.0.0.1:${aggregatorPort}/events?deploymentId=${deployment.id}`, auth(aggregatorToken));
        delivered = ((await res.json()) as { data: Array<{ name: string }> }).data.some((e) => e.name === 'deployment.created');
        if (!delivered) await new Promise((r) => setTimeout(r, 100));
      }
      expect(delivered).toBe(true);

      // SIGTERM: each drains and exits 0 within 10 s; then the HEALTHCHECK fails
      expect(await stopWithSigterm(projectChild)).toMatchObject({ code: 0 });
      expect(await stopWithSigterm(aggregatorChild)).toMatchObject({ code: 0 });
      expect(await healthcheck(projectPort)).toBe(1);
      expect(await healthcheck(aggregatorPort)).toBe(1);

      // nothing was written locally (no generated token, no embedded database)
      expect(existsSync(dataDir)).toBe(false);
    }, 60_000);

    it('refuses to start in production without a token, and says which', async () => {
      const result = await runToEnd(dockerfileCmd(), containerEnv({ PROJECT_DATABASE_URL: project.url, AGGREGATOR_SERVICE_TOKEN: aggregatorToken, DATA_DIR: dataDir }));
      expect(result.code).not.toBe(0);
      expect(result.output).toContain('PROJECT_SERVICE_TOKEN');
    });
  });
});
