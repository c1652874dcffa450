import { sqlState, statement, type DeploymentStatus, type Knex, type Statement, type StatementParam } from '@hosting/shared';
import type { DeploymentRow } from '../../db/tables.js';
import type { Cause } from '../../domain.js';
import type { IdempotentRequest } from './idempotency.js';

export type { Cause } from '../../domain.js';

/** A deployment with what the webhook and cancel need of its project. */
export interface DeploymentWithProject extends DeploymentRow {
  project_name: string;
  project_url: string | null;
  user_id: number;
  app_secret_sha256: Buffer;
}

/** What an Idempotency-Key holds: the request that first used it and what it created. */
export interface StoredKey {
  fingerprint: Buffer;
  statusCode: number;
  expired: boolean;
  /** The deployment as the first request created it (not as it is now). */
  deployment: DeploymentRow;
}

/** A keyed creation: done, refused because the key is taken, or no such project (nothing written). */
export type KeyedCreate = { kind: 'created'; deployment: DeploymentRow } | { kind: 'key-taken' } | { kind: 'no-project' };

export interface DeploymentFilter {
  projectId?: number;
  statuses?: DeploymentStatus[];
  /** A user's token: only the deployments of this user's projects. */
  owner?: number;
}

const COLUMNS = 'id, project_id, status, deployed_in, created_at, updated_at';
const COLUMN_LIST = ['id', 'project_id', 'status', 'deployed_in', 'created_at', 'updated_at'] as const;

/*
 * What each write here touches beyond its own statement, through triggers on the tables it writes
 * (the migrations named hold their SQL):
 * - a deployment inserted (create, createWithKey) or whose status changes (transition): a row in
 *   `deployment_changes` and `NOTIFY deployment_changes` (deployment_notify: the live stream), and
 *   the per-project, per-status counters of `deployment_counts` (deployment_counts: the flags and
 *   the deployments' total). A compare-and-set that lost changes no status and writes neither.
 * - every outbox event inserted: `NOTIFY outbox` (outbox: wakes the relays).
 * - the project's `url` (transition to done) and `idempotency_keys`: no trigger.
 */

/**
 * The payload fields every event of a deployment carries, built in SQL from the rows the statement
 * just wrote, so that the change and its events are one statement: atomic without a transaction,
 * and one round trip.
 */
const EVENT_BASE = `jsonb_build_object(
  'projectId', p.id, 'projectName', p.name, 'userId', p.user_id, 'deploymentId', d.id,
  'source', :source::text, 'requestId', :requestId::text)`;

type CauseParams = { source: string; requestId: string | null };
type KeyParams = { scope: string; key: string; fingerprint: Buffer; ttlSeconds: number };

/**
 * A creation statement: the project (found by `projectWhere`), the new deployment and its
 * `deployment.created` event; `keyed` adds the Idempotency-Key row and the purge of expired keys.
 * One template for the four variants (with or without a key, any caller or only the owner).
 *
 * Under a key, the key row is inserted by the same statement, with the deployment as created, so a
 * key exists exactly when its deployment does. When the key is already taken the insert fails with
 * a unique violation on `idempotency_keys_pkey` and the whole statement (the deployment, its event)
 * is undone; a racing request waits on the first one's uncommitted key and then fails the same way:
 * PostgreSQL settles the race. It also purges a few expired keys (not this one, whose fate the
 * caller decides), skipping rows another request holds.
 */
function creationSql(projectWhere: string, keyed: boolean): string {
  const key = `,
         k as (
           insert into idempotency_keys (scope, key, fingerprint, status_code, resource)
           select :scope::text, :key::text, :fingerprint::bytea, 201, to_jsonb(d) from d),
         purge as (
           delete from idempotency_keys where (scope, key) in (
             select scope, key from idempotency_keys
             where created_at <= now() - make_interval(secs => :ttlSeconds::float8) and not (scope = :scope::text and key = :key::text)
             order by created_at limit 16 for update skip locked))`;
  return `with p as (select id, name, user_id from projects where ${projectWhere}),
         d as (insert into deployments (project_id) select id from p returning ${COLUMNS}),
         ev as (
           insert into outbox (event_id, name, payload, occurred_at)
           select gen_random_uuid(), 'deployment.created', ${EVENT_BASE} || jsonb_build_object('status', d.status), d.created_at
           from d join p on p.id = d.project_id)${keyed ? key : ''}
         select ${COLUMNS} from d`;
}

const ANY_PROJECT = 'id = :projectId';
/** For a user's token: the project must also be theirs, else no row and nothing written. */
const OWNED_PROJECT = 'id = :projectId and user_id = :owner';

/**
 * The hot statements, each one round trip: the writes (the change, its outbox events and the
 * project URL together) and the webhook's lookup.
 */
const create = statement<{ projectId: number } & CauseParams, DeploymentRow>('deployments_create', creationSql(ANY_PROJECT, false));
const createOwned = statement<{ projectId: number; owner: number } & CauseParams, DeploymentRow>(
  'deployments_create_owned',
  creationSql(OWNED_PROJECT, false),
);
const createWithKey = statement<{ projectId: number } & CauseParams & KeyParams, DeploymentRow>(
  'deployments_create_with_key',
  creationSql(ANY_PROJECT, true),
);
const createWithKeyOwned = statement<{ projectId: number; owner: number } & CauseParams & KeyParams, DeploymentRow>(
  'deployments_create_with_key_owned',
  creationSql(OWNED_PROJECT, true),
);

/** What a key holds: the fingerprint, the answer's status, the deployment as created, and whether it expired. */
const findKey = statement<{ scope: string; key: string; ttlSeconds: number }, DeploymentRow & StoredKeyColumns>(
  'deployments_find_key',
  `select k.fingerprint, k.status_code, k.created_at <= now() - make_interval(secs => :ttlSeconds::float8) as expired,
          r.id, r.project_id, r.status, r.deployed_in, r.created_at, r.updated_at
   from idempotency_keys k cross join lateral jsonb_populate_record(null::deployments, k.resource) r
   where k.scope = :scope and k.key = :key`,
);
type StoredKeyColumns = { fingerprint: Buffer; status_code: number; expired: boolean };

/**
 * The webhook's deployment, only if it belongs to the project whose app secret has that digest.
 * The project is found first (index projects_app_secret_sha256) and the deployment is looked for
 * only inside it: the lateral subquery runs once per project found (`offset 0` keeps the planner
 * from flattening it into a join it may start from the id), so a wrong secret reads the same one
 * index entry, none, whether the id exists or not: the answer's timing cannot tell which
 * deployment ids exist (WRITEUP "Threat model").
 */
const findForSecret = statement<{ id: number; digest: Buffer }, DeploymentWithProject>(
  'deployments_find_for_secret',
  `select d.id, d.project_id, d.status, d.deployed_in, d.created_at, d.updated_at,
          p.name as project_name, p.url as project_url, p.user_id, p.app_secret_sha256
   from projects p cross join lateral (
     select ${COLUMNS} from deployments where id = :id and project_id = p.id offset 0) d
   where p.app_secret_sha256 = :digest`,
);

/** See `transition` below. */
const transition = statement<
  { id: number; from: DeploymentStatus; to: DeploymentStatus; url: string | null } & CauseParams,
  DeploymentRow & { assigned_url: string | null }
>(
  'deployments_transition',
  `with d as (
     update deployments
     set status = :to::text, updated_at = now(),
         deployed_in = case when :to::text = 'done' then floor(extract(epoch from (now() - created_at)))::int end
     where id = :id and status = :from::text
     returning ${COLUMNS}),
   p as (select pr.id, pr.name, pr.user_id from projects pr join d on d.project_id = pr.id),
   u as (
     update projects set url = :url::text
     where :url::text is not null and id = (select project_id from d where status = 'done') and url is null
     returning url),
   base as (select ${EVENT_BASE} as fields, d.deployed_in, d.updated_at from d join p on p.id = d.project_id),
   ev as (
     insert into outbox (event_id, name, payload, occurred_at)
     select gen_random_uuid(), e.name, base.fields || e.extra, base.updated_at
     from base cross join lateral (values
       ('deployment.status_changed', jsonb_build_object('from', :from::text, 'to', :to::text, 'deployedIn', base.deployed_in)),
       (case :to::text when 'done' then 'deployment.succeeded' when 'failed' then 'deployment.failed'
                       when 'cancelled' then 'deployment.cancelled' end,
        case :to::text when 'done' then jsonb_build_object('deployedIn', base.deployed_in)
                       else jsonb_build_object('from', :from::text) end)
     ) as e(name, extra)
     where e.name is not null
     union all
     select gen_random_uuid(), 'project.url_assigned', base.fields || jsonb_build_object('url', u.url), base.updated_at
     from base cross join u)
   select d.*, (select url from u) as assigned_url from d`,
);

type PageRow = DeploymentRow & { total: number; id: number | null };
type PageParams = { limit: number; offset: number; projectId?: number; owner?: number; upTo?: number } & Record<string, StatementParam>;

/**
 * The page statement of one shape of filter: which filters are present and how many statuses. Its
 * text depends only on that shape, so each shape is one prepared statement (at most a few dozen).
 */
function pageStatement(shape: { project: boolean; owner: boolean; statuses: number }): Statement<PageParams, PageRow> {
  const statusNames = Array.from({ length: shape.statuses }, (_, i) => `:status${i}`);
  const where: string[] = [];
  if (shape.project) where.push('project_id = :projectId');
  if (statusNames.length > 0) where.push(`status in (${statusNames.join(', ')})`);
  if (shape.owner) where.push('project_id in (select id from projects where user_id = :owner)');
  const clause = where.length > 0 ? `where ${where.join(' and ')}` : '';
  // The exact total from the per-project, per-status counters the triggers keep (migration
  // deployment_counts): the same filter over one row per project and status, not over every
  // deployment (at a million, `status=done` counted 800,000 index entries per page).
  const total = `(select coalesce(sum(n), 0)::bigint from deployment_counts ${clause})`;
  // Several statuses over all projects: `status in (…) order by id` has no index that yields id
  // order (the (status, id) index yields it per status), and walking the primary key to the newest
  // in-progress deployments read most of the table. Each status's first offset + limit (`upTo`) by
  // id come from its own index range, and the page is taken from their union.
  const union = statusNames.length > 1 && !shape.project && !shape.owner;
  const source = union
    ? `(${statusNames.map((s) => `(select ${COLUMNS} from deployments where status = ${s} order by id limit :upTo)`).join(' union all ')}) s`
    : `deployments ${clause}`;
  const name = `deployments_page${shape.project ? '_of_project' : ''}${shape.owner ? '_of_owner' : ''}_${shape.statuses}_statuses`;
  return statement(
    name,
    `with page as (select ${COLUMNS} from ${source} order by id limit :limit offset :offset)
     select ${total} as total, page.*
     from (select 1) as one left join page on true
     order by page.id`,
  );
}
const pageStatements = new Map<string, Statement<PageParams, PageRow>>();

export function createDeploymentsRepo(db: Knex) {
  return {
    /**
     * Creates a `pending` deployment and its `deployment.created` event; undefined when the project
     * does not exist (or, with an `owner`, is not theirs).
     */
    async create(projectId: number, cause: Cause, owner?: number): Promise<DeploymentRow | undefined> {
      const { source, requestId } = cause;
      const { rows } =
        owner === undefined
          ? await create.run(db, { projectId, source, requestId })
          : await createOwned.run(db, { projectId, owner, source, requestId });
      return rows[0];
    },

    /**
     * Creates the deployment, its event and the key `request.key` in one statement; `key-taken`
     * (nothing written) when the key is already there, live or expired.
     */
    async createWithKey(
      projectId: number,
      cause: Cause,
      request: IdempotentRequest,
      ttlSeconds: number,
      owner?: number,
    ): Promise<KeyedCreate> {
      const { source, requestId } = cause;
      const { scope, key, fingerprint } = request;
      const params = { projectId, source, requestId, scope, key, fingerprint, ttlSeconds };
      try {
        const { rows } = owner === undefined ? await createWithKey.run(db, params) : await createWithKeyOwned.run(db, { ...params, owner });
        return rows[0] ? { kind: 'created', deployment: rows[0] } : { kind: 'no-project' };
      } catch (err) {
        if (sqlState(err) === '23505' && (err as { constraint?: string }).constraint === 'idempotency_keys_pkey')
          return { kind: 'key-taken' };
        throw err;
      }
    },

    async findKey(scope: string, key: string, ttlSeconds: number): Promise<StoredKey | undefined> {
      const { rows } = await findKey.run(db, { scope, key, ttlSeconds });
      const row = rows[0];
      if (!row) return undefined;
      const { fingerprint, status_code: statusCode, expired, ...deployment } = row;
      return { fingerprint, statusCode, expired, deployment };
    },

    /** Removes a key only if it is (still) expired. */
    async deleteExpiredKey(scope: string, key: string, ttlSeconds: number): Promise<void> {
      await db('idempotency_keys')
        .where({ scope, key })
        .where('created_at', '<=', db.raw('now() - make_interval(secs => :ttlSeconds::float8)', { ttlSeconds }))
        .delete();
    },

    /** With an `owner`: only when the deployment's project is theirs. */
    async findById(id: number, owner?: number): Promise<DeploymentRow | undefined> {
      const query = db('deployments as d')
        .first<DeploymentRow | undefined>(COLUMN_LIST.map((c) => `d.${c}`))
        .where('d.id', id);
      if (owner !== undefined) query.join('projects as p', 'p.id', 'd.project_id').where('p.user_id', owner);
      return query;
    },

    /** With an `owner`: only when the deployment's project is theirs. */
    async findWithProject(id: number, owner?: number): Promise<DeploymentWithProject | undefined> {
      const query = db('deployments as d')
        .join('projects as p', 'p.id', 'd.project_id')
        .first<DeploymentWithProject | undefined>([
          ...COLUMN_LIST.map((c) => `d.${c}`),
          'p.name as project_name',
          'p.url as project_url',
          'p.user_id',
          'p.app_secret_sha256',
        ])
        .where('d.id', id);
      if (owner !== undefined) query.where('p.user_id', owner);
      return query;
    },

    /** The webhook's lookup: deployment `id` of the project whose app secret has `digest` (see findForSecret above). */
    async findForSecret(id: number, digest: Buffer): Promise<DeploymentWithProject | undefined> {
      const { rows } = await findForSecret.run(db, { id, digest });
      return rows[0];
    },

    /** One page in id order and the total matching the filter, in one statement. */
    async page(filter: DeploymentFilter, limit: number, offset: number): Promise<{ total: number; deployments: DeploymentRow[] }> {
      const statuses = [...new Set(filter.statuses ?? [])];
      const shape = { project: filter.projectId !== undefined, owner: filter.owner !== undefined, statuses: statuses.length };
      const key = JSON.stringify(shape);
      let page = pageStatements.get(key);
      if (page === undefined) pageStatements.set(key, (page = pageStatement(shape)));
      const params: PageParams = { limit, offset, upTo: offset + limit };
      if (filter.projectId !== undefined) params.projectId = filter.projectId;
      if (filter.owner !== undefined) params.owner = filter.owner;
      statuses.forEach((status, i) => (params[`status${i}`] = status));
      const { rows } = await page.run(db, params);
      const deployments = rows
        .filter((r): r is PageRow & { id: number } => r.id !== null)
        .map(({ id, project_id, status, deployed_in, created_at, updated_at }) => ({
          id,
          project_id,
          status,
          deployed_in,
          created_at,
          updated_at,
        }));
      return { total: rows[0]?.total ?? 0, deployments };
    },

    /**
     * Moves deployment `id` from `from` to `to`, if it is still in `from` (compare-and-set: two
     * racing requests cannot both apply), and writes the transition's events; on `done` it also
     * gives the project `url` when it has none yet (exactly once, even when two `done`s race).
     * Undefined when the deployment was no longer in `from`.
     */
    async transition(
      args: { id: number; from: DeploymentStatus; to: DeploymentStatus; url: string | null },
      cause: Cause,
    ): Promise<{ deployment: DeploymentRow; assignedUrl: string | null } | undefined> {
      const { rows } = await transition.run(db, { ...args, source: cause.source, requestId: cause.requestId });
      const row = rows[0];
      if (!row) return undefined;
      const { assigned_url: assignedUrl, ...deployment } = row;
      return { deployment, assignedUrl };
    },
  };
}

export type DeploymentsRepo = ReturnType<typeof createDeploymentsRepo>;
