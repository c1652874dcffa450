import { z } from 'zod';
import { DEPLOYMENT_STATUSES } from '@hosting/shared';
import type { DeploymentRow } from '../../db/tables.js';
import { pageParam } from '../../http/pagination.js';
import { positiveId } from '../../http/params.js';

/** The schemas of the deployment routes: what the handlers parse, what the allow-list answers, what deployments.api.ts shows. */

export const deploymentStatus = z.enum(DEPLOYMENT_STATUSES).meta({
  id: 'DeploymentStatus',
  description: '`pending`, `building`, `deploying` are ongoing; `done`, `failed`, `cancelled` are final.',
});

/** The deployment of a path. */
export const deploymentIdParams = z.object({
  id: positiveId.meta({ description: 'The deployment id. Not a positive integer: 400.', param: { id: 'DeploymentId' } }),
});

/** An operation that takes no input: no body, or `{}`. Any field is refused by name. */
export const noInputBody = z.object({}).strict();

/** `GET /deployments?page=&projectId=&status=a,b` */
export const listDeploymentsQuery = z.object({
  page: pageParam,
  projectId: positiveId.optional().meta({ description: "Only this project's deployments (an unknown project gives `[]`)." }),
  status: z
    .string()
    .transform((s) => s.split(',').map((part) => part.trim()))
    .pipe(z.array(deploymentStatus).min(1))
    .optional()
    .meta({
      description: 'Only deployments in one of these statuses, comma-separated: `status=pending,building`.',
      param: { style: 'form', explode: false },
      override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
        // The text is a comma-separated list: the document shows the list it stands for.
        Object.assign(jsonSchema, { type: 'array', minItems: 1, items: { $ref: '#/components/schemas/DeploymentStatus' } });
      },
    }),
});

/** The only fields a deployment response may carry. */
export const deploymentSchema = z
  .object({
    id: z.int().min(1),
    projectId: z.int().min(1),
    status: deploymentStatus,
    deployedIn: z
      .int()
      .min(0)
      .nullable()
      .meta({ description: 'Whole seconds from creation to `done`, by the database clock; null unless `done`.' }),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime().meta({ description: 'The last status change.' }),
  })
  .meta({
    id: 'Deployment',
    examples: [
      {
        id: 7,
        projectId: 1,
        status: 'done',
        deployedIn: 42,
        createdAt: '2026-11-20T10:00:00.000Z',
        updatedAt: '2026-11-20T10:00:42.000Z',
      },
    ],
  });

export type DeploymentJson = z.infer<typeof deploymentSchema>;

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
