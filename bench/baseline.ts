import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import pg from 'pg';
import type { DeploymentStatus } from '@hosting/shared';
import { generateProjectUrl, webhookOutcome } from '@hosting/project-service';
import { STATEMENTS, deploymentsPage, toPg } from './statements.js';

/**
 * The engineering limit the benchmark compares our services with: bare `node:http` and `pg`,
 * answering the same routes with the same SQL statements (bench/statements.ts: copies of the
 * repositories' statements, held equal by a test), the same bearer checks and the same JSON, and nothing else: no framework, no
 * validation library, no logging, no metrics. Run: node bench/dist/baseline.js <project|aggregator> <port> <db url> <token> [prepared]
 */
const [role, portArg, url, token, mode] = process.argv.slice(2) as [string, string, string, string, string | undefined];
const prepared = mode === 'prepared';
const pool = new pg.Pool({ connectionString: url, max: 10 });
pg.types.setTypeParser(pg.types.builtins.INT8, Number);

/**
 * By default each statement is sent as `pool.query(text, values)` does: unnamed, parsed and
 * planned by PostgreSQL on every call. With `prepared` (the bench's --baseline-prepared) each
 * is a named prepared statement, as the services' knex sends them (shared/src/db/knex.ts), so
 * the comparison is then only of what each does in Node.
 */
const names = new Map<string, string>();
function run<R extends pg.QueryResultRow>(sql: string, params: Record<string, unknown>): Promise<pg.QueryResult<R>> {
  const { text, values } = toPg(sql, params);
  if (!prepared) return pool.query<R>(text, values);
  let name = names.get(text);
  if (name === undefined) names.set(text, (name = `b_${names.size + 1}`));
  return pool.query<R>({ name, text, values });
}

const digest = (s: string) => createHash('sha256').update(s).digest();
const tokenDigest = digest(token);
const bearer = (req: http.IncomingMessage) => /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
const admitted = (req: http.IncomingMessage) => {
  const t = bearer(req);
  return t !== undefined && timingSafeEqual(digest(t), tokenDigest);
};

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString() || '{}');
}

type ProjectRow = {
  id: number;
  name: string;
  url: string | null;
  user_id: number;
  created_at: Date;
  has_ongoing: boolean;
  has_live: boolean;
};
type DeploymentRow = {
  id: number;
  project_id: number;
  status: DeploymentStatus;
  deployed_in: number | null;
  created_at: Date;
  updated_at: Date;
};
/** A page's row: the total, and the columns of a row of the page (null past its end). */
type PageRow<R> = { total: number } & ({ [K in keyof R]: R[K] } | { [K in keyof R]: null });
const onPage = <R extends { id: number }>(rows: Array<PageRow<R>>): R[] => rows.filter((r): r is PageRow<R> & R => r.id !== null);

const project = (p: ProjectRow) => ({
  id: p.id,
  name: p.name,
  url: p.url,
  userId: p.user_id,
  createdAt: p.created_at.toISOString(),
  hasOngoingDeployment: p.has_ongoing,
  hasPendingDeployment: p.has_ongoing,
  hasLiveDeployment: p.has_live,
});
const deployment = (d: DeploymentRow) => ({
  id: d.id,
  projectId: d.project_id,
  status: d.status,
  deployedIn: d.deployed_in,
  createdAt: d.created_at.toISOString(),
  updatedAt: d.updated_at.toISOString(),
});

async function project_(req: http.IncomingMessage, res: http.ServerResponse, path: string, query: URLSearchParams) {
  let m: RegExpExecArray | null;
  if (req.method === 'POST' && path === '/deployment/webhook') {
    const body = (await readJson(req)) as { id: number; status: DeploymentStatus };
    const presented = bearer(req);
    if (!presented) return send(res, 401, { name: 'UnauthorizedError', message: 'no' });
    const { rows } = await run<DeploymentRow & { project_name: string; project_url: string | null }>(STATEMENTS.findForSecret, {
      id: body.id,
      digest: digest(presented),
    });
    const current = rows[0];
    if (!current) return send(res, 401, { name: 'UnauthorizedError', message: 'no' });
    const outcome = webhookOutcome(current.status, body.status);
    if (outcome === 'conflict') return send(res, 409, { name: 'ConflictError', message: 'final' });
    // The outcome header the service sends too (the bench counts each side's answers by it).
    if (outcome !== 'apply') return send(res, 200, deployment(current), { 'x-webhook-outcome': outcome });
    const url = body.status === 'done' && current.project_url === null ? generateProjectUrl(current.project_name, 'bench.example') : null;
    const moved = await run<DeploymentRow>(STATEMENTS.transition, {
      id: body.id,
      from: current.status,
      to: body.status,
      url,
      source: 'webhook',
      requestId: null,
    });
    return send(res, 200, deployment(moved.rows[0] ?? current), { 'x-webhook-outcome': 'apply' });
  }
  if (!admitted(req)) return send(res, 401, { name: 'UnauthorizedError', message: 'no' });
  if (req.method === 'GET' && path === '/projects') {
    const page = Number(query.get('page') ?? 1);
    const { rows } = await run<PageRow<ProjectRow>>(STATEMENTS.projectPage, { limit: 8, offset: (page - 1) * 8 });
    res.setHeader('x-total-count', String(rows[0]?.total ?? 0));
    return send(res, 200, onPage(rows).map(project));
  }
  if (req.method === 'GET' && (m = /^\/projects\/(\d+)$/.exec(path))) {
    const { rows } = await run<ProjectRow>(STATEMENTS.projectById, { id: Number(m[1]) });
    return rows[0] ? send(res, 200, project(rows[0])) : send(res, 404, { name: 'NotFoundError', message: 'no' });
  }
  if (req.method === 'GET' && path === '/deployments') {
    const page = Number(query.get('page') ?? 1);
    const statuses = (query.get('status')?.split(',') ?? []) as DeploymentStatus[];
    const { sql, params } = deploymentsPage(statuses, 8, (page - 1) * 8);
    const { rows } = await run<PageRow<DeploymentRow>>(sql, params);
    res.setHeader('x-total-count', String(rows[0]?.total ?? 0));
    return send(res, 200, onPage(rows).map(deployment));
  }
  if (req.method === 'POST' && (m = /^\/projects\/(\d+)\/deployment$/.exec(path))) {
    const { rows } = await run<DeploymentRow>(STATEMENTS.createDeployment, { projectId: Number(m[1]), source: 'api', requestId: null });
    return rows[0] ? send(res, 201, deployment(rows[0])) : send(res, 404, { name: 'NotFoundError', message: 'no' });
  }
  send(res, 404, { name: 'NotFoundError', message: 'no route' });
}

async function aggregator_(req: http.IncomingMessage, res: http.ServerResponse, path: string) {
  if (!admitted(req)) return send(res, 401, { name: 'UnauthorizedError', message: 'no' });
  if (req.method === 'POST' && path === '/events') {
    const body = await readJson(req);
    const events = (Array.isArray(body) ? body : [body]) as Array<{ eventId: string }>;
    const { rows } = await run<{ event_id: string }>(STATEMENTS.insertEvents, { events: JSON.stringify(events) });
    const stored = new Set(rows.map((r) => r.event_id));
    return send(res, 200, {
      stored: stored.size,
      duplicates: events.length - stored.size,
      results: events.map((e) => ({ eventId: e.eventId, status: stored.has(e.eventId) ? 'stored' : 'duplicate' })),
    });
  }
  send(res, 404, { name: 'NotFoundError', message: 'no route' });
}

const server = http.createServer((req, res) => {
  const u = new URL(req.url ?? '/', 'http://x');
  const handler = role === 'aggregator' ? aggregator_(req, res, u.pathname) : project_(req, res, u.pathname, u.searchParams);
  handler.catch((err: unknown) => send(res, 500, { name: 'InternalServerError', message: String(err) }));
});
server.keepAliveTimeout = 5_000;
server.listen(Number(portArg), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
