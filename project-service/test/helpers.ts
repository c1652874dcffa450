import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import supertest from 'supertest';
import { aggregatorConfigSchema, createAggregatorService, type AggregatorServiceConfig } from '@hosting/aggregator-service';
import {
  createLogger,
  parseEnv,
  sha256,
  type DeploymentStatus,
  type Knex,
  type Lifecycle,
  type LimitsConfig,
  type Logger,
} from '@hosting/shared';
import {
  combineContracts,
  createTestDatabase,
  envOf,
  listenLocally,
  loadContract,
  logCapture,
  type Contract,
  type TestDatabase,
} from '@hosting/shared/testing';
import { createProjectService } from '../src/compose.js';
import { parseConfig, type ProjectServiceConfig } from '../src/config.js';
import type { AggregatorClient } from '../src/events/aggregator-client.js';
import { createDeploymentStreamHub, type DeploymentStreamHub, type StreamTuning } from '../src/features/stream/stream-hub.js';
import { openapiDocument } from '../src/openapi/document.js';
import type { DeploymentRow } from '../src/db/tables.js';
import { openStream, type StreamClient } from './sse-client.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
/** The platform's reference material, beside the repo. */
export const specDir = path.resolve(repoRoot, '..', 'shared', 'spec');

/**
 * The platform's contract, with its one known slip mended: `url` and `deployedIn` are null until a
 * project is live or a deployment done (the platform's brief says so; the document forgot
 * `nullable`). Our own routes are extensions it does not know.
 */
export function platformContract(): Contract {
  return loadContract(path.join(specDir, 'project-api.yaml'), {
    patch: (doc) => {
      doc.components.schemas.Project.properties.url = { type: ['string', 'null'] };
      doc.components.schemas.Deployment.properties.deployedIn = { type: ['integer', 'null'] };
    },
    aliases: { '^/projects/([^/]+)/deployments$': '/projects/$1/deployment' },
    extensions: [
      '^/outbox/status$',
      '^/ops/busy-projects$',
      '^/healthz$',
      '^/readyz$',
      '^/metrics$',
      '^/openapi\\.json$',
      '^/docs(/.*)?$',
      '^/users/[^/]+/stats$',
      '^/projects/[^/]+/activity$',
      '^(/projects/[^/]+)?/deployments/stream$',
      '^/projects/[^/]+/secret$',
    ],
  });
}

/** The service's own OpenAPI 3.1 document (GET /openapi.json), strictly: it must list every status, header and content type. */
export function ownContract(): Contract {
  return loadContract(openapiDocument, { strict: true });
}

let contracts: Contract | undefined;
/** Every response must satisfy both the platform's contract and our own document. Built once per test file. */
export function projectContract(): Contract {
  contracts ??= combineContracts(platformContract(), ownContract());
  return contracts;
}

export interface Sent {
  status: number;
  body: any;
  headers: Record<string, string>;
  text: string;
}

export type Call = (
  method: 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options',
  url: string,
  options?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
) => Promise<Sent>;

/**
 * Calls the app through its HTTP callback (supertest) and checks every response (status, body,
 * headers, content type) against the contract before handing it to the test. `token: null` sends no Authorization header.
 */
export function httpClient(handler: Parameters<typeof supertest>[0], contract: Contract, defaultToken: string): Call {
  return async (method, url, options = {}) => {
    let req = supertest(handler)[method](url);
    const token = options.token === undefined ? defaultToken : options.token;
    if (token !== null) req = req.set('Authorization', `Bearer ${token}`);
    for (const [k, v] of Object.entries(options.headers ?? {})) req = req.set(k, v);
    if (options.raw !== undefined) req = req.send(options.raw);
    else if (options.body !== undefined) req = req.send(options.body as object);
    const res = await req;
    const body = res.body as unknown;
    if (method !== 'head' && method !== 'options') {
      contract.check(method, url, res.status, body, res.headers['content-type'], res.headers);
    }
    return { status: res.status, body, headers: res.headers, text: res.text };
  };
}

/**
 * A request over real HTTP (fetch) to `base` + `path`, its answer (status, body, headers, content
 * type) checked against `contract` before it is handed back. `token: null` sends no Authorization
 * header; a body is sent as JSON.
 */
export async function fetchChecked(
  base: string,
  contract: Contract,
  method: 'get' | 'post',
  path: string,
  options: { token: string | null; body?: unknown; headers?: Record<string, string> },
): Promise<Sent> {
  const res = await fetch(`${base}${path}`, {
    method: method.toUpperCase(),
    headers: {
      ...(options.token !== null ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const text = await res.text();
  const body = text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  const headers = Object.fromEntries(res.headers);
  contract.check(method, path, res.status, body, headers['content-type'], headers);
  return { status: res.status, body, headers, text };
}

/**
 * The live-stream clients a test file opens: `open` is `openStream` remembering the client;
 * `closeAll` (each file's afterEach) closes every client opened since and expects that none saw a
 * problem; `closeQuietly` closes them without looking.
 */
export function streamClients() {
  const clients: StreamClient[] = [];
  return {
    open(url: string, options: Parameters<typeof openStream>[1]): StreamClient {
      const client = openStream(url, options);
      clients.push(client);
      return client;
    },
    closeAll(): void {
      for (const client of clients.splice(0)) {
        client.close();
        expect(client.problems).toEqual([]);
      }
    },
    closeQuietly(): void {
      for (const client of clients.splice(0)) client.close();
    },
  };
}

/** Captures every log line an app writes (shared/src/testing/logs.ts; here for this package's tests). */
export { logCapture };

export function factories(db: Knex) {
  let n = 0;
  const unique = () => `${Date.now().toString(36)}${(n++).toString(36)}${randomBytes(2).toString('hex')}`;
  return {
    async user(): Promise<{ id: number }> {
      const u = unique();
      const [row] = await db('users')
        .insert({ email: `user-${u}@example.com`, username: `user-${u}` })
        .returning(['id']);
      return row!;
    },
    async project(
      options: { userId?: number; name?: string; secret?: string } = {},
    ): Promise<{ id: number; name: string; secret: string; userId: number }> {
      const userId = options.userId ?? (await this.user()).id;
      const secret = options.secret ?? randomBytes(24).toString('base64url');
      const name = options.name ?? `project-${unique()}`;
      const [row] = await db('projects')
        .insert({ name, user_id: userId, app_secret_sha256: sha256(secret) })
        .returning(['id']);
      return { id: row!.id, name, secret, userId };
    },
    /** A deployment placed directly in `status` (with a plausible `deployed_in` when done). */
    async deployment(projectId: number, status: DeploymentStatus = 'pending', createdAt?: Date): Promise<DeploymentRow> {
      const [row] = await db('deployments')
        .insert({
          project_id: projectId,
          status,
          deployed_in: status === 'done' ? 42 : null,
          ...(createdAt ? { created_at: createdAt, updated_at: createdAt } : {}),
        })
        .returning('*');
      return row!;
    },
  };
}

/** Settings a test names, as values or as the environment's text; the others are the schema's defaults. */
export type ConfigOverrides = { readonly [K in keyof ProjectServiceConfig]?: ProjectServiceConfig[K] | string };

/**
 * A project-service config as loadConfig makes it, from the schema's defaults and `overrides`. The
 * cross-setting checks of loadConfig are left out (a test may give a cap above the pool on purpose).
 */
export function testConfig(overrides: ConfigOverrides = {}): ProjectServiceConfig {
  return parseConfig(
    envOf({
      NODE_ENV: 'test',
      PROJECT_SERVICE_TOKEN: 'test-service-token-0123456789',
      AGGREGATOR_SERVICE_TOKEN: 'test-aggregator-token-0123456789',
      // Only the relay and the hub connect to it, and only once started (testStreamHub names a real one).
      PROJECT_DATABASE_URL: 'postgres://nobody@127.0.0.1:9/unused',
      PUBLIC_DOMAIN: 'example.app',
      ...overrides,
    }),
  );
}

export interface AppDeps {
  db: Knex;
  logger: Logger;
  config?: ConfigOverrides;
  lifecycle?: Lifecycle;
  clock?: () => Date;
  /** The aggregator the activity feed reads; without it the feed answers 503 (no aggregator configured). */
  aggregator?: AggregatorClient;
  /** A started hub; without one the app's own hub is never started, and the streams answer 503. */
  streamHub?: DeploymentStreamHub;
}

/** The app of a project service built by the composition root (compose.ts), as main.ts builds it, on `config`. */
export function createApp(deps: AppDeps) {
  return createProjectService(testConfig(deps.config), {
    db: deps.db,
    logger: deps.logger,
    ...(deps.lifecycle ? { lifecycle: deps.lifecycle } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
    aggregator: deps.aggregator ?? null,
    ...(deps.streamHub ? { streamHub: deps.streamHub } : {}),
  }).app;
}

/** A stream hub LISTENing on `database`, with the config's settings but for `config`, and `tuning` shortened. */
export function testStreamHub(
  database: { db: Knex; url: string },
  logger: Logger,
  config: ConfigOverrides = {},
  tuning: Partial<StreamTuning> = {},
): DeploymentStreamHub {
  return createDeploymentStreamHub({
    db: database.db,
    logger,
    config: testConfig({ PROJECT_DATABASE_URL: database.url, ...config }),
    ...tuning,
  });
}

/** An aggregator-service config from the schema's defaults and `overrides` (see testConfig). */
export function aggregatorTestConfig(overrides: Readonly<Record<string, unknown>> = {}): AggregatorServiceConfig {
  return parseEnv(
    aggregatorConfigSchema,
    envOf({ NODE_ENV: 'test', AGGREGATOR_DATABASE_URL: 'postgres://nobody@127.0.0.1:9/unused', ...overrides }),
  );
}

export interface TestService {
  app: ReturnType<typeof createApp>;
  db: Knex;
  database: TestDatabase;
  token: string;
  call: Call;
  make: ReturnType<typeof factories>;
  logs: string[];
  close(): Promise<void>;
}

/** A project-service app on its own freshly cloned database, with a random admin token. */
export async function testService(
  options: { publicDomain?: string; limits?: Partial<LimitsConfig>; database?: Parameters<typeof createTestDatabase>[1] } = {},
): Promise<TestService> {
  const database = await createTestDatabase('project', options.database);
  const token = randomBytes(24).toString('base64url');
  const { logger, lines } = logCapture();
  const app = createApp({
    db: database.db,
    logger,
    config: { PROJECT_SERVICE_TOKEN: token, PUBLIC_DOMAIN: options.publicDomain ?? 'example.app', ...options.limits },
  });
  const handler = app.callback();
  return {
    app,
    db: database.db,
    database,
    token,
    call: httpClient(handler, projectContract(), token),
    make: factories(database.db),
    logs: lines,
    close: () => database.drop(),
  };
}

export interface TestAggregator {
  /** `http://127.0.0.1:<port>` of the listening aggregator. */
  url: string;
  /** Its AGGREGATOR_SERVICE_TOKEN. */
  token: string;
  database: TestDatabase;
  /** Closes the server (and its connections), then drops its database. */
  close(): Promise<void>;
}

/**
 * A real aggregator-service app, in-process, on its own freshly cloned database and a free port of
 * 127.0.0.1: what the activity feed and the outbox relay talk to. The token is random unless
 * given, the logger silent unless given; `config` adds to the token.
 */
export async function startAggregator(
  options: { token?: string; logger?: Logger; config?: Readonly<Record<string, unknown>> } = {},
): Promise<TestAggregator> {
  const database = await createTestDatabase('aggregator');
  const token = options.token ?? randomBytes(24).toString('base64url');
  const { app } = createAggregatorService(aggregatorTestConfig({ AGGREGATOR_SERVICE_TOKEN: token, ...options.config }), {
    db: database.db,
    logger: options.logger ?? createLogger({ level: 'silent' }),
  });
  const server = await listenLocally(app.callback());
  return {
    url: server.url,
    token,
    database,
    close: async () => {
      await server.close();
      await database.drop();
    },
  };
}
