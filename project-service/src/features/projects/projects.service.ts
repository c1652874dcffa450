import { randomBytes } from 'node:crypto';
import { NotFoundError, sha256 } from '@hosting/shared';
import type { Cause, Owner } from '../../domain.js';
import { PAGE_SIZE } from '../../http/pagination.js';
import type { ProjectsRepo, ProjectView } from './projects.repo.js';

/** A new app secret: 24 random bytes, base64url (32 characters), like every secret we issue. */
export function generateAppSecret(): string {
  return randomBytes(24).toString('base64url');
}

export function createProjectsService(deps: { projects: ProjectsRepo; generateSecret?: () => string }) {
  const { projects } = deps;
  const generateSecret = deps.generateSecret ?? generateAppSecret;
  return {
    /** `owner` (a user's token): that user's projects only, and their total. */
    async list(page: number, owner?: Owner): Promise<{ total: number; projects: ProjectView[] }> {
      return projects.page(PAGE_SIZE, (page - 1) * PAGE_SIZE, owner);
    },

    async busy(threshold: number) {
      return projects.busy(threshold);
    },

    /**
     * Issues a new app secret: only its digest is kept, so the answer is the one place it is ever
     * shown; the old secret stops working with this statement's commit.
     */
    async rotateSecret(id: number, cause: Cause): Promise<{ projectId: number; appSecret: string; rotatedAt: Date }> {
      const appSecret = generateSecret();
      const rotated = await projects.rotateSecret(id, sha256(appSecret), cause);
      if (!rotated) throw new NotFoundError(`Project ${id} not found`);
      return { projectId: rotated.id, appSecret, rotatedAt: rotated.rotated_at };
    },

    /** `owner` (a user's token): another user's project is not found, exactly like a missing one. */
    async get(id: number, owner?: Owner): Promise<ProjectView> {
      const found = await projects.findById(id, owner);
      if (!found) throw new NotFoundError(`Project ${id} not found`);
      return found;
    },
  };
}

export type ProjectsService = ReturnType<typeof createProjectsService>;
