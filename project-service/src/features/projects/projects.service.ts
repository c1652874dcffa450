import { NotFoundError } from '@hosting/shared';
import { PAGE_SIZE } from '../../http/pagination.js';
import type { ProjectsRepo, ProjectView } from './projects.repo.js';

export function createProjectsService(deps: { projects: ProjectsRepo }) {
  const { projects } = deps;
  return {
    async list(page: number): Promise<{ total: number; projects: ProjectView[] }> {
      return projects.page(PAGE_SIZE, (page - 1) * PAGE_SIZE);
    },

    async busy(threshold: number) {
      return projects.busy(threshold);
    },

    async get(id: number): Promise<ProjectView> {
      const found = await projects.findById(id);
      if (!found) throw new NotFoundError(`Project ${id} not found`);
      return found;
    },
  };
}

export type ProjectsService = ReturnType<typeof createProjectsService>;
