import { z } from 'zod';
import { DEPLOYMENT_STATUSES } from '@hosting/shared';
import type { DeploymentRow } from '../../db/tables.js';
import { pageParam } from '../../http/pagination.js';
import { positiveId } from '../../http/params.js';

export const deploymentStatus = z.enum(DEPLOYMENT_STATUSES);

/** `GET /deployments?page=&projectId=&status=a,b` */
export const listDeploymentsQuery = z.object({
  page: pageParam,
  projectId: positiveId.optional(),
  status: z
    .string()
    .transform((s) => s.split(',').map((part) => part.trim()))
    .pipe(z.array(deploymentStatus).min(1))
    .optional(),
});

/** The only fields a deployment response may carry. */
export interface DeploymentJson {
  id: number;
  projectId: number;
  status: DeploymentRow['status'];
  deployedIn: number | null;
  createdAt: string;
  updatedAt: string;
}

export function deploymentJson(d: DeploymentRow): DeploymentJson {
  return {
    id: d.id,
    projectId: d.project_id,
    status: d.status,
    deployedIn: d.deployed_in,
    createdAt: d.created_at.toISOString(),
    updatedAt: d.updated_at.toISOString(),
  };
}
