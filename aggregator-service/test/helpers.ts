import { randomBytes, randomUUID } from 'node:crypto';
import supertest from 'supertest';
import { createLogger, parseEnv, type EventEnvelope, type Knex, type Lifecycle, type LimitsConfig, type Logger } from '@hosting/shared';
import { createTestDatabase, envOf, loadContract, type Contract, type TestDatabase } from '@hosting/shared/testing';
import { createAggregatorService } from '../src/compose.js';
import { aggregatorConfigSchema, type AggregatorServiceConfig } from '../src/config.js';
import { openapiDocument } from '../src/openapi/document.js';

/**
 * Test harness of aggregator-service: an app on its own cloned database, an HTTP client that
 * checks every response against the service's own OpenAPI document (GET /openapi.json), and
 * factories for valid event envelopes.
 */
export interface Sent {
  status: number;
  body: any;
  headers: Record<string, string>;
  text: string;
}

export type Call = (
  method: 'get' | 'post' | 'put' | 'delete',
  url: string,
  options?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
) => Promise<Sent>;

/** Throws unless `body` is the error body every 4xx/5xx must carry. */
export function checkErrorBody(status: number, body: any): void {
  const ok =
    body !== null &&
    typeof body === 'object' &&
    typeof body.type === 'string' &&
    typeof body.title === 'string' &&
    body.status === status &&
    typeof body.detail === 'string' &&
    typeof body.name === 'string' &&
    typeof body.message === 'string';
  if (!ok) throw new Error(`${status}: not the contract's error body: ${JSON.stringify(body).slice(0, 300)}`);
}

let contract: Contract | undefined;
/** The service's own document, strictly: it must list every status, header and content type the service answers with. */
export function aggregatorContract(): Contract {
  contract ??= loadContract(openapiDocument, { strict: true });
  return contract;
}

/**
 * Calls the app through its HTTP callback and checks every response (status, body, headers, content
 * type) against the service's document before handing it to the test. `token: null` sends no
 * Authorization header.
 */
export function httpClient(
  handler: Parameters<typeof supertest>[0],
  defaultToken: string,
  contract: Contract = aggregatorContract(),
): Call {
  return async (method, url, options = {}) => {
    let req = supertest(handler)[method](url);
    const token = options.token === undefined ? defaultToken : options.token;
    if (token !== null) req = req.set('Authorization', `Bearer ${token}`);
    for (const [k, v] of Object.entries(options.headers ?? {})) req = req.set(k, v);
    if (options.raw !== undefined) req = (options.headers?.['Content-Type'] ? req : req.type('json')).send(options.raw);
    else if (options.body !== undefined) req = req.send(options.body as object);
    const res = await req;
    if (res.status >= 400) checkErrorBody(res.status, res.body);
    contract.check(method, url, res.status, res.body, res.headers['content-type'], res.headers);
    return { status: res.status, body: res.body, headers: res.headers, text: res.text };
  };
}

let nextId = 1_000;
/** A fresh id for a test's own projects, deployments and users, so tests of a file never see each other's events. */
export function uniqueId(): number {
  return nextId++;
}

/** A valid `deployment.created` envelope; `overrides` replace top-level fields, `payload` merges. */
export function deploymentCreated(
  refs: { projectId?: number; deploymentId?: number; userId?: number } = {},
  overrides: Partial<EventEnvelope> = {},
): EventEnvelope {
  const { payload, ...rest } = overrides;
  return {
    eventId: randomUUID(),
    name: 'deployment.created',
    occurredAt: new Date().toISOString(),
    ...rest,
    payload: {
      projectId: refs.projectId ?? uniqueId(),
      projectName: 'shop',
      userId: refs.userId ?? uniqueId(),
      deploymentId: refs.deploymentId ?? uniqueId(),
      source: 'api',
      requestId: 'req-1',
      status: 'pending',
      ...payload,
    },
  };
}

/** Settings a test names, as values or as the environment's text; the others are the schema's defaults. */
export type ConfigOverrides = { readonly [K in keyof AggregatorServiceConfig]?: AggregatorServiceConfig[K] | string };

/** An aggregator-service config as loadConfig makes it, from the schema's defaults and `overrides` (no cross-setting checks). */
export function testConfig(overrides: ConfigOverrides = {}): AggregatorServiceConfig {
  return parseEnv(
    aggregatorConfigSchema,
    envOf({ NODE_ENV: 'test', AGGREGATOR_DATABASE_URL: 'postgres://nobody@127.0.0.1:9/unused', ...overrides }),
  );
}

/** The app of an aggregator built by the composition root (compose.ts), as main.ts builds it, on `config`. */
export function createApp(deps: { db: Knex; logger: Logger; config: ConfigOverrides; lifecycle?: Lifecycle }) {
  return createAggregatorService(testConfig(deps.config), {
    db: deps.db,
    logger: deps.logger,
    ...(deps.lifecycle ? { lifecycle: deps.lifecycle } : {}),
  }).app;
}

export interface TestService {
  app: ReturnType<typeof createApp>;
  db: Knex;
  database: TestDatabase;
  token: string;
  call: Call;
  close(): Promise<void>;
}

/** An aggregator app on its own freshly cloned database, with a random token; `limits` overrides the rate limits and request timeout. */
export async function testService(options: { limits?: Partial<LimitsConfig> } = {}): Promise<TestService> {
  const database = await createTestDatabase('aggregator');
  const token = randomBytes(24).toString('base64url');
  const app = createApp({
    db: database.db,
    logger: createLogger({ level: 'silent' }),
    config: { AGGREGATOR_SERVICE_TOKEN: token, ...options.limits },
  });
  return { app, db: database.db, database, token, call: httpClient(app.callback(), token), close: () => database.drop() };
}
