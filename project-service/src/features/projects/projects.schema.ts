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

/** The answer to a secret rotation: the only place the new secret is ever shown. */
export interface SecretRotationJson {
  projectId: number;
  appSecret: string;
  rotatedAt: string;
}

export function secretRotationJson(r: { projectId: number; appSecret: string; rotatedAt: Date }): SecretRotationJson {
  return { projectId: r.projectId, appSecret: r.appSecret, rotatedAt: r.rotatedAt.toISOString() };
}
