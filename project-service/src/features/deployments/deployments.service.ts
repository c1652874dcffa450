import { BadRequestError, ConflictError, NotFoundError, UnauthorizedError, secretMatchesDigest, type DeploymentStatus } from '@hosting/shared';
import type { DeploymentRow } from '../../db/tables.js';
import { PAGE_SIZE } from '../../http/pagination.js';
import { cancelOutcome, webhookOutcome, type WebhookOutcome } from './deployment-status.js';
import type { Cause, DeploymentFilter, DeploymentsRepo, DeploymentWithProject } from './deployments.repo.js';
import { generateProjectUrl } from './project-url.js';

export interface StatusChange {
  deployment: DeploymentRow;
  /** `apply` when this request moved the deployment; otherwise why nothing changed. */
  outcome: WebhookOutcome | 'refuse';
}

export function createDeploymentsService(deps: { deployments: DeploymentsRepo; publicDomain: string }) {
  const { deployments, publicDomain } = deps;

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
    async create(projectId: number, cause: Cause): Promise<DeploymentRow> {
      const created = await deployments.create(projectId, cause);
      if (!created) throw new NotFoundError(`Project ${projectId} not found`);
      return created;
    },

    async get(id: number): Promise<DeploymentRow> {
      const found = await deployments.findById(id);
      if (!found) throw new NotFoundError(`Deployment ${id} not found`);
      return found;
    },

    async list(filter: DeploymentFilter, page: number) {
      return deployments.page(filter, PAGE_SIZE, (page - 1) * PAGE_SIZE);
    },

    /** `POST /deployments/:id/cancel`: ongoing → cancelled; cancelled again changes nothing; done or failed is a 400. */
    async cancel(id: number, cause: Cause): Promise<StatusChange> {
      const current = await deployments.findWithProject(id);
      if (!current) throw new NotFoundError(`Deployment ${id} not found`);
      const change = await move(current, 'cancelled', cause, cancelOutcome);
      if (change.outcome === 'refuse') {
        throw new BadRequestError(`Deployment ${id} is ${change.deployment.status} and can no longer be cancelled`);
      }
      return change;
    },

    /**
     * The CI webhook: authenticated by the app secret of the deployment's project. An unknown
     * deployment gets the same 401 as a wrong secret, so the endpoint tells nothing to a guesser.
     */
    async reportStatus(id: number, to: DeploymentStatus, secret: string, cause: Cause): Promise<StatusChange> {
      const current = await deployments.findWithProject(id);
      if (!current || !secretMatchesDigest(secret, current.app_secret_sha256)) throw new UnauthorizedError();
      const change = await move(current, to, cause, (from) => webhookOutcome(from, to));
      if (change.outcome === 'conflict') {
        throw new ConflictError(`Deployment ${id} is ${change.deployment.status}, a final status; it cannot become ${to}`);
      }
      return change;
    },
  };
}

export type DeploymentsService = ReturnType<typeof createDeploymentsService>;
