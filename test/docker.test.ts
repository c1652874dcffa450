import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { parse as parseYaml } from 'yaml';
import { SERVICE_NODE_OPTIONS, freePort } from '@hosting/shared';

/**
 * The container setup:
 * - without an engine: the Dockerfile's and docker-compose.yml's shape (non-root, healthcheck,
 *   exec-form commands, what the runtime stage holds, the compose dependency chain, tokens
 *   required) and `docker-compose config` when docker-compose (or `docker compose`) is installed;
 * - on a real Docker engine (skipped, saying why, where none answers): README's "Run with Docker"
 *   step by step, from the image build to `down` and `up` again (the last describe below).
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
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === 'string'))
    throw new Error(`${what}: not a JSON array of strings: ${args}`);
  return parsed;
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
const compose = parseYaml(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};

function composeCommand(service: string): string[] {
  const command = compose.services[service]?.command;
  if (!Array.isArray(command))
    throw new Error(`docker-compose.yml: ${service}.command must be an exec-form list, got ${JSON.stringify(command)}`);
  return command;
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
    expect(dockerfile.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0])).toEqual([
      'node:20-bookworm-slim',
      'node:20-bookworm-slim',
    ]);
    const install = finalStage.find((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(install?.args).toMatch(/--omit=dev/);
  });

  it('the runtime stage holds every file the image and compose commands run, and the build context has what COPY names', () => {
    const copies = runtimeCopies();
    const commands = [
      dockerfileCmd(),
      dockerfileHealthcheck(),
      ...Object.keys(compose.services)
        .filter((s) => compose.services[s]!.command)
        .map(composeCommand),
    ];
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
      const paths = i.args
        .split(/\s+/)
        .filter((p) => !p.startsWith('--'))
        .slice(0, -1);
      for (const p of paths) expect({ copy: p, exists: existsSync(path.join(root, p)) }).toEqual({ copy: p, exists: true });
    }
  });

  it('.dockerignore keeps local installs, builds, data and secrets out of the build context', () => {
    const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const pattern of ['**/node_modules', '**/dist', '.data', '.env', '.git', '**/*.tsbuildinfo']) expect(ignored).toContain(pattern);
    // Tests, test helpers and the benchmark stay out of the context too (the build below leaves them out anyway).
    for (const pattern of ['**/*.test.ts', 'shared/src/testing', 'test', 'bench']) expect(ignored).toContain(pattern);
  });

  it("the image's build (tsconfig.build.json) compiles no test, test helper or benchmark file, not even through an import", () => {
    let program: ts.Program | undefined;
    for (const project of ['shared', 'aggregator-service', 'project-service', 'scripts']) {
      const parsed = ts.getParsedCommandLineOfConfigFile(
        path.join(root, project, 'tsconfig.build.json'),
        {},
        {
          ...ts.sys,
          onUnRecoverableConfigFileDiagnostic: (d) => {
            throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
          },
        },
      )!;
      // The program holds every file the roots import; other projects' files come in as their declarations.
      program = ts.createProgram({
        rootNames: parsed.fileNames,
        options: parsed.options,
        projectReferences: parsed.projectReferences,
        oldProgram: program, // reuses the lib and @types files already parsed
      });
      const compiled = program
        .getSourceFiles()
        .filter((f) => !f.isDeclarationFile)
        .map((f) => path.relative(root, f.fileName));
      expect(compiled.length).toBeGreaterThan(0);
      expect(compiled.filter((f) => /\.test\.ts$|\/testing\/|(^|\/)test\/|^bench\//.test(f))).toEqual([]);
    }
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
    // on postgres too, so that compose stops the services before the database
    for (const name of ['project-service', 'aggregator-service']) {
      expect(s[name]!.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
    }
    expect(composeCommand('aggregator-service')).toEqual(['node', 'aggregator-service/dist/src/main.js']);
    // project-service runs the image's default command (stated, so the file reads on its own)
    expect(composeCommand('project-service')).toEqual(dockerfileCmd());
    const images = new Set(['migrate', 'project-service', 'aggregator-service'].map((n) => s[n]!.image));
    expect([...images]).toEqual(['${HOSTING_IMAGE:-hosting-control-plane:local}']);
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
if (!cli)
  console.warn(
    'test/docker.test.ts: neither docker-compose nor `docker compose` is installed; skipping the `docker-compose config` checks',
  );

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

  (cli ? it : it.skip)('is valid with both tokens set, and fails naming the token that is missing and what to run', () => {
    const ok = config({ PROJECT_SERVICE_TOKEN: projectToken, AGGREGATOR_SERVICE_TOKEN: aggregatorToken });
    expect(ok).toEqual({ status: 0, stderr: '' });
    const noProject = config({ AGGREGATOR_SERVICE_TOKEN: aggregatorToken });
    expect(noProject.status).not.toBe(0);
    expect(noProject.stderr).toMatch(/PROJECT_SERVICE_TOKEN.*run sh docker\/tokens\.sh first/);
    const noAggregator = config({ PROJECT_SERVICE_TOKEN: projectToken });
    expect(noAggregator.status).not.toBe(0);
    expect(noAggregator.stderr).toMatch(/AGGREGATOR_SERVICE_TOKEN.*run sh docker\/tokens\.sh first/);
  });
});

// ================================================================ on a real Docker engine

/**
 * README's "Run with Docker", done on a real engine: the image built with the classic builder and
 * with BuildKit, `docker compose up`, both services healthy, the seed, a deployment through the
 * webhook to `done`, its events in the aggregator, `down` (fast, every container exiting 0, the
 * database last), and `up` again with the data kept (with docker-compose 1.29 when installed, so
 * both compose generations are run). Its own compose project, image name and host ports; `down -v`
 * and the images removed afterwards. Skipped, saying why, where no engine answers.
 */
function engine(): { ok: true; version: string } | { ok: false; why: string } {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 });
  if (info.error) return { ok: false, why: `docker: ${info.error.message}` };
  if (info.status !== 0) return { ok: false, why: `docker info: ${(info.stderr || info.stdout).trim().split('\n').at(-1)}` };
  return { ok: true, version: info.stdout.trim() };
}
const docker = engine();
const composeV2 = docker.ok && spawnSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
const composeV1 = docker.ok && spawnSync('docker-compose', ['version'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
const engineSkip = !docker.ok
  ? `no Docker engine answers (${docker.why}); as root, ../shared/tools/docker-engine.sh installs and starts one`
  : !composeV2 && !composeV1
    ? 'neither `docker compose` nor docker-compose is installed'
    : undefined;
if (engineSkip) console.warn(`test/docker.test.ts: skipping the test on a real Docker engine: ${engineSkip}`);

interface Result {
  code: number | null;
  out: string;
  ms: number;
}

/** Runs a command to its end (killed after timeoutMs), with the output of both streams. */
function sh(bin: string, args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<Result> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(bin, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - started });
    });
  });
}

/** A command that must succeed: its output, or an error that shows it. */
async function ok(bin: string, args: string[], env: Record<string, string>, timeoutMs?: number): Promise<string> {
  const r = await sh(bin, args, env, timeoutMs);
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited with ${r.code} after ${r.ms} ms:\n${r.out.slice(-4000)}`);
  return r.out;
}

/** The README's Docker commands, as written there (so the test runs what a reader runs). */
function readmeDockerCommands(): { tokens: string[]; up: string[]; seed: string[] } {
  const doc = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Run with Docker'), doc.indexOf('\n## ', doc.indexOf('## Run with Docker') + 1));
  const find = (re: RegExp, what: string) => {
    const m = re.exec(section);
    if (!m) throw new Error(`README's "Run with Docker" has no ${what} (${re})`);
    return m[1]!.trim().split(/\s+/);
  };
  return {
    tokens: find(/^(sh docker\/tokens\.sh)\b/m, 'token command'),
    up: find(/^docker compose (up --build -d)\b/m, '`docker compose up` command'),
    seed: find(/^docker compose (run --rm project-service node scripts\/dist\/seed\.js)\b/m, 'seed command'),
  };
}

(engineSkip ? describe.skip : describe)('on a real Docker engine: README "Run with Docker", step by step', () => {
  const tag = randomBytes(4).toString('hex');
  const project = `hcp-test-${tag}`;
  const image = `hosting-control-plane-test:${tag}`;
  const classicImage = `hosting-control-plane-test:${tag}-classic`;
  let dir: string;
  let envFile: string;
  let env: Record<string, string>;
  let ports: { project: number; aggregator: number };
  const [first, second]: [string[], string[]] = composeV2
    ? [['docker', 'compose'], composeV1 ? ['docker-compose'] : ['docker', 'compose']]
    : [['docker-compose'], ['docker-compose']];
  const compose = (cli: string[], args: string[], timeoutMs?: number) =>
    sh(cli[0]!, [...cli.slice(1), '--env-file', envFile, ...args], env, timeoutMs);
  const composeOk = async (cli: string[], args: string[], timeoutMs?: number) => {
    const r = await compose(cli, args, timeoutMs);
    if (r.code !== 0) throw new Error(`${cli.join(' ')} ${args.join(' ')} exited with ${r.code}:\n${r.out.slice(-4000)}`);
    return r.out;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'hosting-docker-'));
    envFile = path.join(dir, '.env');
    ports = { project: await freePort(), aggregator: await freePort() };
    // Only what compose needs from this machine; a developer's tokens or .env cannot leak in.
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? dir,
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      COMPOSE_PROJECT_NAME: project,
      HOSTING_IMAGE: image,
      PROJECT_SERVICE_PORT: String(ports.project),
      AGGREGATOR_SERVICE_PORT: String(ports.aggregator),
      PUBLIC_BASE_URL: `http://localhost:${ports.project}`,
    };
  });

  afterAll(async () => {
    if (!env) return;
    for (const cli of new Set([first, second].map((c) => c.join(' '))))
      await compose(cli.split(' '), ['down', '-v', '--remove-orphans', '-t', '5'], 120_000);
    await sh('docker', ['volume', 'rm', '-f', `${project}_pgdata`], env);
    await sh('docker', ['image', 'rm', '-f', image, classicImage], env);
    rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  const containerOf = async (service: string): Promise<string> => {
    const ids = (
      await ok(
        'docker',
        ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`],
        env,
      )
    )
      .trim()
      .split('\n')
      .filter(Boolean);
    if (ids.length !== 1) throw new Error(`expected one ${service} container, found ${ids.length}`);
    return ids[0]!;
  };

  /** Waits until both services report healthy; fails at once when one is unhealthy or gone. */
  async function waitHealthy(since: number): Promise<number> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const states = await Promise.all(
        ['project-service', 'aggregator-service'].map(async (s) =>
          (await ok('docker', ['inspect', '-f', '{{.State.Status}} {{.State.Health.Status}}', await containerOf(s)], env)).trim(),
        ),
      );
      if (states.every((s) => s === 'running healthy')) return Date.now() - since;
      if (states.some((s) => s.startsWith('exited') || s.endsWith('unhealthy')) || Date.now() > deadline) {
        throw new Error(
          `the services did not become healthy (${states.join(', ')}):\n${(await compose(first, ['logs', '--no-color', '--tail', '40'])).out}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const api = (port: number, token: string, p: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${port}${p}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    });

  /** `down` as a user types it: exit 0 within 10 s, every container exits 0, PostgreSQL last, no lost LISTEN. */
  async function downAndCheck(cli: string[]): Promise<number> {
    const migrate = await containerOf('migrate');
    expect((await ok('docker', ['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', migrate], env)).trim()).toBe('exited 0');
    const events = spawn(
      'docker',
      [
        'events',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--filter',
        'event=kill',
        '--filter',
        'event=die',
        '--format',
        '{{.Action}} {{index .Actor.Attributes "com.docker.compose.service"}} {{index .Actor.Attributes "exitCode"}}',
      ],
      { env, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let seen = '';
    events.stdout.on('data', (c: Buffer) => (seen += c.toString()));
    const lines = () =>
      seen
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' ') as [string, string, string | undefined]);
    const projectLogs = spawn('docker', ['logs', '-f', await containerOf('project-service')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    projectLogs.stdout.on('data', (c: Buffer) => (logs += c.toString()));
    projectLogs.stderr.on('data', (c: Buffer) => (logs += c.toString()));
    await new Promise((r) => setTimeout(r, 1_000)); // both attached before anything stops
    try {
      const down = await compose(cli, ['down'], 60_000);
      expect({ code: down.code, out: down.code === 0 ? '' : down.out }).toEqual({ code: 0, out: '' });
      expect(down.ms).toBeLessThan(10_000);
      for (const until = Date.now() + 5_000; lines().filter(([action]) => action === 'die').length < 3 && Date.now() < until;)
        await new Promise((r) => setTimeout(r, 100));
      const died = lines().filter(([action]) => action === 'die');
      expect(died.map(([, service]) => service).sort()).toEqual(['aggregator-service', 'postgres', 'project-service']);
      expect(died.filter(([, , code]) => code !== '0')).toEqual([]);
      // PostgreSQL is asked to stop (its first kill event: compose's stop signal) only after both services exited
      const order = lines().map(([action, service]) => `${action} ${service}`);
      const postgresAsked = order.indexOf('kill postgres');
      expect(postgresAsked).toBeGreaterThan(order.indexOf('die project-service'));
      expect(postgresAsked).toBeGreaterThan(order.indexOf('die aggregator-service'));
      expect(logs).toContain('"msg":"project-service listening');
      expect(logs).not.toContain('LISTEN connection lost');
      return down.ms;
    } finally {
      events.kill();
      projectLogs.kill();
    }
  }

  it('builds, comes up healthy, serves the README steps, goes down cleanly and comes up again with the data', async () => {
    const readme = readmeDockerCommands();

    // ---- the image, on both builders: production code only
    for (const [builder, name] of [
      ['0', classicImage],
      ['1', image],
    ] as const) {
      await ok('docker', ['build', '-q', '-t', name, '.'], { ...env, DOCKER_BUILDKIT: builder }, 600_000);
      const files = (
        await ok(
          'docker',
          ['run', '--rm', '--entrypoint', 'sh', name, '-c', 'find /app -path /app/node_modules -prune -o -type f -print'],
          env,
        )
      )
        .trim()
        .split('\n');
      expect(files).toContain('/app/project-service/dist/src/main.js');
      expect(files).toContain('/app/aggregator-service/dist/src/main.js');
      expect(files).toContain('/app/scripts/dist/migrate.js');
      expect(files.filter((f) => /\.test\.|\/testing\/|\/test\/|\/bench\//.test(f))).toEqual([]);
      const bytes = Number((await ok('docker', ['image', 'inspect', '-f', '{{.Size}}', name], env)).trim());
      console.log(
        `docker image (${builder === '0' ? 'classic builder' : 'BuildKit'}): ${(bytes / 1e6).toFixed(0)} MB, ${files.length} files outside node_modules`,
      );
    }

    // ---- README: tokens into .env, then up
    await ok(readme.tokens[0]!, [...readme.tokens.slice(1), envFile], env);
    const tokens = Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split('=', 2) as [string, string]),
    );
    expect(Object.keys(tokens).sort()).toEqual(['AGGREGATOR_SERVICE_TOKEN', 'PROJECT_SERVICE_TOKEN']);
    const T = tokens.PROJECT_SERVICE_TOKEN!;
    const A = tokens.AGGREGATOR_SERVICE_TOKEN!;
    const upStarted = Date.now();
    await composeOk(first, readme.up, 600_000);
    const firstUp = await waitHealthy(upStarted);
    console.log(`docker compose up (${first.join(' ')}, image built, empty volume) to both healthy: ${(firstUp / 1000).toFixed(1)} s`);

    // ---- both run as non-root, with node as PID 1 (so it gets SIGTERM itself)
    for (const service of ['project-service', 'aggregator-service']) {
      const status = await ok('docker', ['exec', await containerOf(service), 'cat', '/proc/1/status', '/proc/1/cmdline'], env);
      expect(/^Name:\s+(\S+)/m.exec(status)?.[1]).toBe('node');
      const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      expect(uid).toBeDefined();
      expect(uid).not.toBe('0');
      expect(status).toContain(`node\0${service}/dist/src/main.js`);
    }

    // ---- the seed, as README runs it
    const seeded = await composeOk(first, readme.seed, 180_000);
    expect(seeded).toMatch(/Created 4 users and 20 projects\./);

    // ---- list projects, create a deployment, the webhook to done, the events in the aggregator
    const list = await api(ports.project, T, '/projects');
    expect(list.status).toBe(200);
    expect(list.headers.get('x-total-count')).toBe('20');
    expect((await api(ports.project, A, '/projects')).status).toBe(401);
    const created = await api(ports.project, T, '/projects/1/deployment', { method: 'POST' });
    expect(created.status).toBe(201);
    const deployment = (await created.json()) as { id: number; status: string };
    expect(deployment.status).toBe('pending');
    const secret = (
      JSON.parse(readFileSync(path.join(root, 'seeds/projects.json'), 'utf8')) as Array<{ id: number; app_secret: string }>
    ).find((p) => p.id === 1)!.app_secret;
    for (const status of ['building', 'done']) {
      const hook = await api(ports.project, secret, '/deployment/webhook', {
        method: 'POST',
        body: JSON.stringify({ id: deployment.id, status }),
      });
      expect({ status, code: hook.status }).toEqual({ status, code: 200 });
    }
    const live = (await (await api(ports.project, T, '/projects/1')).json()) as { hasLiveDeployment: boolean; url: string | null };
    expect(live.hasLiveDeployment).toBe(true);
    expect(live.url).toMatch(/^https:\/\//);
    const eventNames = async () =>
      (
        (await (await api(ports.aggregator, A, `/events?deploymentId=${deployment.id}`)).json()) as { data: Array<{ name: string }> }
      ).data.map((e) => e.name);
    let names: string[] = [];
    for (const until = Date.now() + 15_000; !names.includes('deployment.succeeded') && Date.now() < until;) {
      names = await eventNames();
      if (!names.includes('deployment.succeeded')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(names).toEqual(expect.arrayContaining(['deployment.created', 'deployment.status_changed', 'deployment.succeeded']));

    // ---- the health checks ran (the services are healthy) without an info line each
    for (const service of ['project-service', 'aggregator-service']) {
      const logs = await ok('docker', ['logs', await containerOf(service)], env);
      expect(logs.split('\n').filter((l) => l.includes('"path":"/healthz"'))).toEqual([]);
    }

    // ---- down, then up again (the other compose generation when both are installed): the data stays
    const firstDown = await downAndCheck(first);
    const againStarted = Date.now();
    await composeOk(second, ['up', '-d'], 300_000);
    const secondUp = await waitHealthy(againStarted);
    console.log(
      `docker compose down (${first.join(' ')}): ${(firstDown / 1000).toFixed(1)} s; up again (${second.join(' ')}, data kept) to both healthy: ${(secondUp / 1000).toFixed(1)} s`,
    );
    const again = await api(ports.project, T, '/projects/1');
    expect(((await again.json()) as { hasLiveDeployment: boolean }).hasLiveDeployment).toBe(true);
    expect((await api(ports.project, T, '/projects')).headers.get('x-total-count')).toBe('20');
    expect(await eventNames()).toEqual(expect.arrayContaining(['deployment.created', 'deployment.succeeded']));
    const secondDown = await downAndCheck(second);
    console.log(`docker compose down (${second.join(' ')}): ${(secondDown / 1000).toFixed(1)} s`);
  }, 1_200_000);
});
