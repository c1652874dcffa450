import type { Middleware } from 'koa';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Knex } from '../db/knex.js';
import { ServiceUnavailableError, UnauthorizedError } from '../errors.js';
import { bearerToken, secretsEqual } from './auth.js';
import type { RequestSummary } from './request-context.js';

/**
 * What every service exposes to its operator: liveness, readiness and Prometheus metrics.
 * One registry per app (never prom-client's global one), so two apps can live in one process.
 */

/** Shared between main.ts (which starts shutting down) and the app (whose readiness then fails). */
export interface Lifecycle {
  shuttingDown: boolean;
}

export function createLifecycle(): Lifecycle {
  return { shuttingDown: false };
}

export interface HttpMetrics {
  registry: Registry;
  /** Records one finished request (fed by requestContext's onFinish). */
  observe: (summary: RequestSummary) => void;
}

/**
 * A service's registry with what every service reports: Node's default metrics, the request
 * histogram, and `service_ready` (whether its database answers, read at each scrape). Names are
 * the contract of ops/prometheus/alerts.yml.
 */
export function createHttpMetrics(service: string, db: Knex): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new Gauge({
    name: 'service_ready',
    help: '1 when the service reaches its database within 1 s',
    registers: [registry],
    async collect() {
      this.set((await databaseAnswers(db, 1_000)) ? 1 : 0);
    },
  });
  return {
    registry,
    // `unmatched`: only requests whose path no route or operational middleware knows (real 404s).
    observe: (s) => duration.observe({ method: s.method, route: s.route ?? 'unmatched', status: String(s.status) }, s.durationMs / 1000),
  };
}

/**
 * `GET /healthz` (the process answers) and `GET /readyz` (the database answers within `timeoutMs`,
 * default 1 s, and we are not stopping). Readiness needs no credential, so anyone can call it as
 * often as they like: every caller is answered from one shared probe (readinessProbe), never with
 * a pool connection of its own.
 */
export function healthRoutes(deps: { db: Knex; lifecycle: Lifecycle; timeoutMs?: number; reuseMs?: number }): Middleware {
  const timeoutMs = deps.timeoutMs ?? 1_000;
  const ready = readinessProbe(deps.db, { timeoutMs, reuseMs: deps.reuseMs ?? 1_000 });
  return async function health(ctx, next) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      await next();
      return;
    }
    if (ctx.path === '/healthz') {
      ctx.state.route = '/healthz';
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path !== '/readyz') {
      await next();
      return;
    }
    ctx.state.route = '/readyz';
    if (deps.lifecycle.shuttingDown) throw new ServiceUnavailableError('Shutting down', 5);
    if (!(await ready())) throw new ServiceUnavailableError(`The database did not answer within ${timeoutMs} ms`, 5);
    ctx.body = { status: 'ready' };
  };
}

/**
 * Whether the database answers, shared by every concurrent caller: at most one `select 1` is in
 * flight, callers that arrive meanwhile wait for its answer, and an answer is reused for `reuseMs`
 * (a balancer probing every few seconds always gets a fresh one; a burst costs one round trip).
 * A round trip still unanswered after `timeoutMs` makes the answer "no" without starting another,
 * so a stuck database or a full pool never collects a queue of probes.
 */
export function readinessProbe(db: Knex, options: { timeoutMs: number; reuseMs: number }): () => Promise<boolean> {
  let last: { ok: boolean; at: number } | undefined;
  let answer: Promise<boolean> | undefined;
  let roundTrip: Promise<unknown> | undefined;
  return function ready() {
    if (last && Date.now() - last.at < options.reuseMs) return Promise.resolve(last.ok);
    if (answer) return answer;
    if (roundTrip) {
      last = { ok: false, at: Date.now() };
      return Promise.resolve(false);
    }
    const answered = db.raw('select 1').then(
      () => true,
      () => false,
    );
    roundTrip = answered.finally(() => (roundTrip = undefined));
    answer = withTimeout(answered, options.timeoutMs)
      .then((ok) => {
        last = { ok, at: Date.now() };
        return ok;
      })
      .finally(() => (answer = undefined));
    return answer;
  };
}

/**
 * `answered`, or false once `timeoutMs` has passed. When the timer fires, the I/O that is already
 * waiting is read first (setImmediate runs after the poll phase), so an answer that arrived while
 * a busy event loop was late to the timer counts: our own load is not the database's slowness.
 */
async function withTimeout(answered: Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => setImmediate(() => resolve(false)), timeoutMs)));
  try {
    return await Promise.race([answered, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function databaseAnswers(db: Knex, timeoutMs: number): Promise<boolean> {
  return withTimeout(
    db.raw('select 1').then(
      () => true,
      () => false,
    ),
    timeoutMs,
  );
}

/** `GET /metrics` in Prometheus text format, for the service's own token or a separate METRICS_TOKEN. */
export function metricsRoute(deps: { registry: Registry; tokens: Array<string | undefined> }): Middleware {
  const tokens = deps.tokens.filter((t): t is string => Boolean(t));
  return async function metrics(ctx, next) {
    if (ctx.method !== 'GET' || ctx.path !== '/metrics') {
      await next();
      return;
    }
    ctx.state.route = '/metrics';
    const presented = bearerToken(ctx.get('Authorization') || undefined);
    // Compare with every token, always, so timing does not tell which one nearly matched.
    const ok = presented !== undefined && tokens.map((t) => secretsEqual(presented, t)).includes(true);
    if (!ok) throw new UnauthorizedError();
    ctx.type = deps.registry.contentType;
    ctx.body = await deps.registry.metrics();
  };
}
