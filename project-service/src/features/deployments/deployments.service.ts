import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  ServiceUnavailableError,
  UnauthorizedError,
  sha256,
  type DeploymentStatus,
} from '@hosting/shared';
import type { DeploymentRow } from '../../db/tables.js';
import { PAGE_SIZE } from '../../http/pagination.js';
import type { Cause, Owner } from '../../domain.js';
import { cancelOutcome, webhookOutcome, type WebhookOutcome } from './deployment-status.js';
import type { DeploymentFilter, DeploymentsRepo, DeploymentWithProject, StoredKey } from './deployments.repo.js';
import { IDEMPOTENCY_TTL_SECONDS, IdempotencyKeyReusedError, type IdempotentRequest } from './idempotency.js';
import { generateProjectUrl } from './project-url.js';

export interface StatusChange {
  deployment: DeploymentRow;
  /** `apply` when this request moved the deployment; otherwise why nothing changed. */
  outcome: WebhookOutcome | 'refuse';
}

/** The answer to a keyed creation: the first request's, replayed or not. */
export interface IdempotentCreation {
  deployment: DeploymentRow;
  status: number;
  replayed: boolean;
}

export function createDeploymentsService(deps: { deployments: DeploymentsRepo; publicDomain: string; idempotencyTtlSeconds?: number }) {
  const { deployments, publicDomain } = deps;
  const ttlSeconds = deps.idempotencyTtlSeconds ?? IDEMPOTENCY_TTL_SECONDS;

  /** A live key answers what it answered the first time, to the same request only. */
  function replay(stored: StoredKey, request: IdempotentRequest): IdempotentCreation {
    if (!stored.fingerprint.equals(request.fingerprint)) {
      throw new IdempotencyKeyReusedError(
        `Idempotency-Key "${request.key}" was already used for a different request (another project or body); ` +
          'retry with the same request, or use a new key',
      );
    }
    return { deployment: stored.deployment, status: stored.statusCode, replayed: true };
  }

  /**
   * Applies `to` when `decide` says so, with a compare-and-set on the status read just before.
   * When another request moved the deployment in between, it reads again and decides again; each
   * retry follows a real transition, and a deployment has at most four, so this ends.
   */
  async function move(
    current: DeploymentWithProject,
    to: DeploymentStatus,
    cause: Cause,
    decide: (from: DeploymentStatus) => StatusChange['outcome'],
  ): Promise<StatusChange> {
    for (let row: DeploymentWithProject | undefined = current; row; row = await deployments.findWithProject(current.id)) {
      const outcome = decide(row.status);
      if (outcome !== 'apply') return { deployment: row, outcome };
      const url = to === 'done' && row.project_url === null ? generateProjectUrl(row.project_name, publicDomain) : null;
      const moved = await deployments.transition({ id: row.id, from: row.status, to, url }, cause);
      if (moved) return { deployment: moved.deployment, outcome: 'apply' };
    }
    throw new NotFoundError(`Deployment ${current.id} not found`);
  }

  return {
    /** `owner` (a user's token): the project must be theirs; another's is not found, and nothing is written. */
    async create(projectId: number, cause: Cause, owner?: Owner): Promise<DeploymentRow> {
      const created = await deployments.create(projectId, cause, owner);
      if (!created) throw new NotFoundError(`Project ${projectId} not found`);
      return created;
    },

    /**
     * `create` under an Idempotency-Key. The first request with a key creates; the same request
     * again (or racing) gets the first answer and creates nothing; another request with the key
     * is a 422. Only creations are remembered: a 404 or a 400 is not, so a retry runs again. An
     * expired key counts as absent: it is removed (if still expired) and the creation retried.
     * Each pass follows a real change of the key (taken, expired, removed), so three are plenty.
     */
    async createIdempotent(projectId: number, cause: Cause, request: IdempotentRequest, owner?: Owner): Promise<IdempotentCreation> {
      for (let attempt = 0; attempt < 3; attempt++) {
        const result = await deployments.createWithKey(projectId, cause, request, ttlSeconds, owner);
        if (result.kind === 'created') return { deployment: result.deployment, status: 201, replayed: false };
        const stored = await deployments.findKey(request.scope, request.key, ttlSeconds);
        if (result.kind === 'no-project') {
          // A key used before still answers for itself: another request with it is a 422, not a 404.
          if (stored && !stored.expired) return replay(stored, request);
          throw new NotFoundError(`Project ${projectId} not found`);
        }
        if (!stored) continue; // removed between the two statements: try again
        if (!stored.expired) return replay(stored, request);
        await deployments.deleteExpiredKey(request.scope, request.key, ttlSeconds);
      }
      throw new ServiceUnavailableError(`Idempotency-Key "${request.key}" is changing hands too fast; try again`, 1);
    },

    async get(id: number, owner?: Owner): Promise<DeploymentRow> {
      const found = await deployments.findById(id, owner);
      if (!found) throw new NotFoundError(`Deployment ${id} not found`);
      return found;
    },

    async list(filter: DeploymentFilter, page: number) {
      return deployments.page(filter, PAGE_SIZE, (page - 1) * PAGE_SIZE);
    },

    /**
     * `POST /deployments/:id/cancel`: ongoing → cancelled; cancelled again changes nothing; done or
     * failed is a 400. With an `owner`, another user's deployment is not found (projects do not
     * change hands, so the re-reads of `move` need no filter).
     */
    async cancel(id: number, cause: Cause, owner?: Owner): Promise<StatusChange> {
      const current = await deployments.findWithProject(id, owner);
      if (!current) throw new NotFoundError(`Deployment ${id} not found`);
      const change = await move(current, 'cancelled', cause, cancelOutcome);
      if (change.outcome === 'refuse') {
        throw new BadRequestError(`Deployment ${id} is ${change.deployment.status} and can no longer be cancelled`);
      }
      return change;
    },

    /**
     * The CI webhook: authenticated by the app secret of the deployment's project. The deployment
     * is looked for only in the project the secret belongs to, so an unknown deployment, another
     * project's and a wrong secret all get the same 401, by the same path: neither the answer nor
     * its timing tells a guesser which ids exist.
     */
    async reportStatus(id: number, to: DeploymentStatus, secret: string, cause: Cause): Promise<StatusChange> {
      const current = await deployments.findForSecret(id, sha256(secret));
      if (!current) throw new UnauthorizedError();
      const change = await move(current, to, cause, (from) => webhookOutcome(from, to));
      if (change.outcome === 'conflict') {
        throw new ConflictError(`Deployment ${id} is ${change.deployment.status}, a final status; it cannot become ${to}`);
      }
      return change;
    },
  };
}

export type DeploymentsService = ReturnType<typeof createDeploymentsService>;
