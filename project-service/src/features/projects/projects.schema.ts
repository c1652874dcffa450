import type { ProjectView } from './projects.repo.js';

/** The only fields a project response may carry. `app_secret` is not among them, by construction. */
export interface ProjectJson {
  id: number;
  name: string;
  url: string | null;
  userId: number;
  createdAt: string;
  hasOngoingDeployment: boolean;
  hasPendingDeployment: boolean;
  hasLiveDeployment: boolean;
}

export function projectJson(p: ProjectView): ProjectJson {
  return {
    id: p.id,
    name: p.name,
    url: p.url,
    userId: p.user_id,
    createdAt: p.created_at.toISOString(),
    hasOngoingDeployment: p.has_ongoing,
    hasPendingDeployment: p.has_ongoing,
    hasLiveDeployment: p.has_live,
  };
}
