import { sqlState, type DeploymentStatus, type Knex } from '@hosting/shared';
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

/**
 * The payload fields every event of a deployment carries, built in SQL from the rows the statement
 * just wrote, so that the change and its events are one statement: atomic without a transaction,
 * and one round trip.
 */
const EVENT_BASE = `jsonb_build_object(
  'projectId', p.id, 'projectName', p.name, 'userId', p.user_id, 'deploymentId', d.id,
  'source', ?::text, 'requestId', ?::text)`;

/**
 * A creation statement: the project (found by `projectWhere`), the new deployment and its
 * `deployment.created` event; `keyed` adds the Idempotency-Key row and the purge of expired keys.
 * One template for the four variants (with or without a key, any caller or only the owner).
 */
function creationSql(projectWhere: string, keyed: boolean): string {
  const key = `,
         k as (
           insert into idempotency_keys (scope, key, fingerprint, status_code, resource)
           select ?::text, ?::text, ?::bytea, 201, to_jsonb(d) from d),
         purge as (
           delete from idempotency_keys where (scope, key) in (
             select scope, key from idempotency_keys
             where created_at <= now() - make_interval(secs => ?::float8) and not (scope = ?::text and key = ?::text)
             order by created_at limit 16 for update skip locked))`;
  return `with p as (select id, name, user_id from projects where ${projectWhere}),
         d as (insert into deployments (project_id) select id from p returning ${COLUMNS}),
         ev as (
           insert into outbox (event_id, name, payload, occurred_at)
           select gen_random_uuid(), 'deployment.created', ${EVENT_BASE} || jsonb_build_object('status', d.status), d.created_at
           from d join p on p.id = d.project_id)${keyed ? key : ''}
         select ${COLUMNS} from d`;
}

/**
 * The statements, exported so that the benchmark's bare baseline server runs exactly these.
 * Each write is one statement: the change, its outbox events (and the project URL) together.
 */
export const DEPLOYMENTS_SQL = {
  /** [projectId, source, requestId] → the new deployment, or no row for an unknown project. */
  create: creationSql('id = ?', false),
  /**
   * The same, under an Idempotency-Key: [projectId, source, requestId, scope, key, fingerprint,
   * ttlSeconds, scope, key]. The key row is inserted by the same statement, with the deployment as
   * created, so a key exists exactly when its deployment does. When the key is already taken the
   * insert fails with a unique violation on `idempotency_keys_pkey` and the whole statement (the
   * deployment, its event) is undone; a racing request waits on the first one's uncommitted key
   * and then fails the same way: PostgreSQL settles the race. It also purges a few expired keys
   * (not this one, whose fate the caller decides), skipping rows another request holds.
   */
  createWithKey: creationSql('id = ?', true),
  /** [ttlSeconds, scope, key] → what a key holds: the fingerprint, the answer's status, the deployment as created, and whether it expired. */
  findKey: `select k.fingerprint, k.status_code, k.created_at <= now() - make_interval(secs => ?::float8) as expired,
                r.id, r.project_id, r.status, r.deployed_in, r.created_at, r.updated_at
         from idempotency_keys k cross join lateral jsonb_populate_record(null::deployments, k.resource) r
         where k.scope = ? and k.key = ?`,
  /** [scope, key, ttlSeconds]: removes a key only if it is (still) expired. */
  deleteExpiredKey: `delete from idempotency_keys
         where scope = ? and key = ? and created_at <= now() - make_interval(secs => ?::float8)`,
  /** [deploymentId] */
  findWithProject: `select d.id, d.project_id, d.status, d.deployed_in, d.created_at, d.updated_at,
                p.name as project_name, p.url as project_url, p.user_id, p.app_secret_sha256
         from deployments d join projects p on p.id = d.project_id where d.id = ?`,
  /**
   * [appSecretDigest, deploymentId] → the webhook's deployment, only if it belongs to the project
   * whose app secret has that digest. The project is found first (index projects_app_secret_sha256)
   * and the deployment is looked for only inside it: the lateral subquery runs once per project
   * found (`offset 0` keeps the planner from flattening it into a join it may start from the id),
   * so a wrong secret reads the same one index entry, none, whether the id exists or not: the
   * answer's timing cannot tell which deployment ids exist (WRITEUP "Threat model").
   */
  findForSecret: `select d.id, d.project_id, d.status, d.deployed_in, d.created_at, d.updated_at,
                p.name as project_name, p.url as project_url, p.user_id, p.app_secret_sha256
         from projects p cross join lateral (
           select ${COLUMNS} from deployments where id = ? and project_id = p.id offset 0) d
         where p.app_secret_sha256 = ?`,
  /** See transitionBindings for the order of the parameters. */
  transition: `with d as (
           update deployments
           set status = ?::text, updated_at = now(),
               deployed_in = case when ?::text = 'done' then floor(extract(epoch from (now() - created_at)))::int end
           where id = ? and status = ?::text
           returning ${COLUMNS}),
         p as (select pr.id, pr.name, pr.user_id from projects pr join d on d.project_id = pr.id),
         u as (
           update projects set url = ?::text
           where ?::text is not null and id = (select project_id from d where status = 'done') and url is null
           returning url),
         base as (select ${EVENT_BASE} as fields, d.deployed_in, d.updated_at from d join p on p.id = d.project_id),
         ev as (
           insert into outbox (event_id, name, payload, occurred_at)
           select gen_random_uuid(), e.name, base.fields || e.extra, base.updated_at
           from base cross join lateral (values
             ('deployment.status_changed', jsonb_build_object('from', ?::text, 'to', ?::text, 'deployedIn', base.deployed_in)),
             (case ?::text when 'done' then 'deployment.succeeded' when 'failed' then 'deployment.failed'
                           when 'cancelled' then 'deployment.cancelled' end,
              case ?::text when 'done' then jsonb_build_object('deployedIn', base.deployed_in)
                           else jsonb_build_object('from', ?::text) end)
           ) as e(name, extra)
           where e.name is not null
           union all
           select gen_random_uuid(), 'project.url_assigned', base.fields || jsonb_build_object('url', u.url), base.updated_at
           from base cross join u)
         select d.*, (select url from u) as assigned_url from d`,
  transitionBindings(args: { id: number; from: DeploymentStatus; to: DeploymentStatus; url: string | null }, cause: Cause) {
    const { id, from, to, url } = args;
    return [to, to, id, from, url, url, cause.source, cause.requestId, from, to, to, to, from];
  },
  /** One page in id order with the total matching the filter. */
  page(filter: DeploymentFilter, limit: number, offset: number): { sql: string; bindings: Array<string | number> } {
    const statuses = [...new Set(filter.statuses ?? [])];
    const where: string[] = [];
    const bindings: Array<string | number> = [];
    if (filter.projectId !== undefined) {
      where.push('project_id = ?');
      bindings.push(filter.projectId);
    }
    if (statuses.length > 0) {
      // knex expands an array binding into a list, so the placeholders are spelled out.
      where.push(`status in (${statuses.map(() => '?').join(', ')})`);
      bindings.push(...statuses);
    }
    if (filter.owner !== undefined) {
      where.push('project_id in (select id from projects where user_id = ?)');
      bindings.push(filter.owner);
    }
    const clause = where.length > 0 ? `where ${where.join(' and ')}` : '';
    // The exact total from the per-project, per-status counters the triggers keep (migration
    // deployment_counts): the same filter over one row per project and status, not over every
    // deployment (at a million, `status=done` counted 800,000 index entries per page).
    const total = `(select coalesce(sum(n), 0)::bigint from deployment_counts ${clause})`;
    // Several statuses over all projects: `status in (…) order by id` has no index that yields id
    // order (the (status, id) index yields it per status), and walking the primary key to the newest
    // in-progress deployments read most of the table. Each status's first offset + limit by id come
    // from its own index range, and the page is taken from their union.
    if (statuses.length > 1 && filter.projectId === undefined && filter.owner === undefined) {
      const perStatus = statuses.map(() => `(select ${COLUMNS} from deployments where status = ? order by id limit ?)`).join(' union all ');
      return {
        sql: `with page as (select ${COLUMNS} from (${perStatus}) s order by id limit ? offset ?)
         select ${total} as total, page.*
         from (select 1) as one left join page on true
         order by page.id`,
        bindings: [...statuses.flatMap((status) => [status, offset + limit]), limit, offset, ...bindings],
      };
    }
    return {
      sql: `with page as (select ${COLUMNS} from deployments ${clause} order by id limit ? offset ?)
         select ${total} as total, page.*
         from (select 1) as one left join page on true
         order by page.id`,
      bindings: [...bindings, limit, offset, ...bindings],
    };
  },
};

/**
 * The statements for a user's token (principal `user`): the same as DEPLOYMENTS_SQL with an owner
 * filter in the SQL, so another user's project or deployment is simply not found (the same 404 as a
 * missing one) and nothing is written. The service token and admins run DEPLOYMENTS_SQL unchanged.
 */
export const OWNED_DEPLOYMENTS_SQL = {
  /** [projectId, owner, source, requestId]: the project must also be theirs, else no row and nothing written. */
  create: creationSql('id = ? and user_id = ?', false),
  /** [projectId, owner, then as DEPLOYMENTS_SQL.createWithKey] */
  createWithKey: creationSql('id = ? and user_id = ?', true),
  /** [deploymentId, owner] */
  findById: `select d.id, d.project_id, d.status, d.deployed_in, d.created_at, d.updated_at
         from deployments d join projects p on p.id = d.project_id where d.id = ? and p.user_id = ?`,
  /** [deploymentId, owner] */
  findWithProject: `${DEPLOYMENTS_SQL.findWithProject} and p.user_id = ?`,
};

export function createDeploymentsRepo(db: Knex) {
  return {
    /**
     * Creates a `pending` deployment and its `deployment.created` event; undefined when the project
     * does not exist (or, with an `owner`, is not theirs).
     */
    async create(projectId: number, cause: Cause, owner?: number): Promise<DeploymentRow | undefined> {
      const { rows } =
        owner === undefined
          ? await db.raw<{ rows: DeploymentRow[] }>(DEPLOYMENTS_SQL.create, [projectId, cause.source, cause.requestId])
          : await db.raw<{ rows: DeploymentRow[] }>(OWNED_DEPLOYMENTS_SQL.create, [projectId, owner, cause.source, cause.requestId]);
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
      try {
        const { rows } = await db.raw<{ rows: DeploymentRow[] }>(
          owner === undefined ? DEPLOYMENTS_SQL.createWithKey : OWNED_DEPLOYMENTS_SQL.createWithKey,
          [
            ...(owner === undefined ? [projectId] : [projectId, owner]),
            cause.source,
            cause.requestId,
            request.scope,
            request.key,
            request.fingerprint,
            ttlSeconds,
            request.scope,
            request.key,
          ],
        );
        return rows[0] ? { kind: 'created', deployment: rows[0] } : { kind: 'no-project' };
      } catch (err) {
        if (sqlState(err) === '23505' && (err as { constraint?: string }).constraint === 'idempotency_keys_pkey')
          return { kind: 'key-taken' };
        throw err;
      }
    },

    async findKey(scope: string, key: string, ttlSeconds: number): Promise<StoredKey | undefined> {
      const { rows } = await db.raw<{ rows: Array<DeploymentRow & { fingerprint: Buffer; status_code: number; expired: boolean }> }>(
        DEPLOYMENTS_SQL.findKey,
        [ttlSeconds, scope, key],
      );
      const row = rows[0];
      if (!row) return undefined;
      const { fingerprint, status_code: statusCode, expired, ...deployment } = row;
      return { fingerprint, statusCode, expired, deployment };
    },

    async deleteExpiredKey(scope: string, key: string, ttlSeconds: number): Promise<void> {
      await db.raw(DEPLOYMENTS_SQL.deleteExpiredKey, [scope, key, ttlSeconds]);
    },

    /** With an `owner`: only when the deployment's project is theirs. */
    async findById(id: number, owner?: number): Promise<DeploymentRow | undefined> {
      if (owner === undefined) return db('deployments').where({ id }).first(db.raw(COLUMNS));
      const { rows } = await db.raw<{ rows: DeploymentRow[] }>(OWNED_DEPLOYMENTS_SQL.findById, [id, owner]);
      return rows[0];
    },

    /** With an `owner`: only when the deployment's project is theirs. */
    async findWithProject(id: number, owner?: number): Promise<DeploymentWithProject | undefined> {
      const { rows } =
        owner === undefined
          ? await db.raw<{ rows: DeploymentWithProject[] }>(DEPLOYMENTS_SQL.findWithProject, [id])
          : await db.raw<{ rows: DeploymentWithProject[] }>(OWNED_DEPLOYMENTS_SQL.findWithProject, [id, owner]);
      return rows[0];
    },

    /** The webhook's lookup: deployment `id` of the project whose app secret has `digest` (see DEPLOYMENTS_SQL.findForSecret). */
    async findForSecret(id: number, digest: Buffer): Promise<DeploymentWithProject | undefined> {
      const { rows } = await db.raw<{ rows: DeploymentWithProject[] }>(DEPLOYMENTS_SQL.findForSecret, [id, digest]);
      return rows[0];
    },

    /** One page in id order and the total matching the filter, in one statement. */
    async page(filter: DeploymentFilter, limit: number, offset: number): Promise<{ total: number; deployments: DeploymentRow[] }> {
      const { sql, bindings } = DEPLOYMENTS_SQL.page(filter, limit, offset);
      const { rows } = await db.raw<{ rows: Array<DeploymentRow & { total: number; id: number | null }> }>(sql, bindings);
      return { total: rows[0]?.total ?? 0, deployments: rows.filter((r) => r.id !== null).map(({ total: _t, ...d }) => d) };
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
      const { rows } = await db.raw<{ rows: Array<DeploymentRow & { assigned_url: string | null }> }>(
        DEPLOYMENTS_SQL.transition,
        DEPLOYMENTS_SQL.transitionBindings(args, cause),
      );
      const row = rows[0];
      if (!row) return undefined;
      const { assigned_url: assignedUrl, ...deployment } = row;
      return { deployment, assignedUrl };
    },
  };
}

export type DeploymentsRepo = ReturnType<typeof createDeploymentsRepo>;
