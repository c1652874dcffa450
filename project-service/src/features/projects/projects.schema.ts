import { z } from 'zod';
import { pageParam } from '../../http/pagination.js';
import { positiveId } from '../../http/params.js';
import type { ProjectView } from './projects.repo.js';

/** The schemas of the project routes: what the handlers parse, what the allow-list answers, what projects.api.ts shows. */

/** The project of a path. */
export const projectIdParams = z.object({
  id: positiveId.meta({ description: 'The project id. Not a positive integer: 400.', param: { id: 'ProjectId' } }),
});

/** `GET /projects?page=`; other query parameters are ignored. */
export const listProjectsQuery = z.object({ page: pageParam });

/** `GET /ops/busy-projects?threshold=` */
export const busyProjectsQuery = z.object({
  threshold: positiveId
    .optional()
    .meta({ description: 'List projects with more ongoing deployments than this. Default: `ONGOING_DEPLOYMENTS_THRESHOLD` (3).' }),
});

/** The only fields a project response may carry. `app_secret` is not among them, by construction. */
export const projectSchema = z
  .object({
    id: z.int().min(1),
    name: z.string(),
    url: z.url().nullable().meta({
      description:
        "The public URL, `https://<name>-<random>.<PUBLIC_DOMAIN>`; null until the project's first successful deployment, then never changed.",
    }),
    userId: z.int().min(1).meta({ description: 'The owner.' }),
    createdAt: z.iso.datetime(),
    hasOngoingDeployment: z.boolean().meta({ description: 'A deployment is `pending`, `building` or `deploying`.' }),
    hasPendingDeployment: z.boolean().meta({ description: "The platform contract's name for `hasOngoingDeployment`: the same value." }),
    hasLiveDeployment: z.boolean().meta({ description: 'At least one deployment is `done`.' }),
  })
  .meta({
    id: 'Project',
    description: 'A project, with its flags. Its app secret is never shown.',
    examples: [
      {
        id: 1,
        name: 'shop',
        url: 'https://shop-3f9a1c0b2e.hosting.localhost',
        userId: 1,
        createdAt: '2026-11-20T10:00:00.000Z',
        hasOngoingDeployment: false,
        hasPendingDeployment: false,
        hasLiveDeployment: true,
      },
    ],
  });

export type ProjectJson = z.infer<typeof projectSchema>;

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
export const secretRotationSchema = z
  .object({
    projectId: z.int().min(1),
    appSecret: z
      .string()
      .min(32)
      .meta({ description: 'The new app secret (32 characters of base64url, 192 random bits). The old one no longer works.' }),
    rotatedAt: z.iso.datetime().meta({ description: 'When it changed, by the database clock (as in the `project.secret_rotated` event).' }),
  })
  .meta({ id: 'SecretRotation', description: "A project's new app secret, shown once." });

export function secretRotationJson(r: { projectId: number; appSecret: string; rotatedAt: Date }): z.infer<typeof secretRotationSchema> {
  return { projectId: r.projectId, appSecret: r.appSecret, rotatedAt: r.rotatedAt.toISOString() };
}

/** A project with many deployments in progress, for an operator. */
export const busyProjectSchema = z
  .object({
    projectId: z.int().min(1),
    projectName: z.string(),
    userId: z.int().min(1).meta({ description: 'The owner.' }),
    ongoing: z.int().min(1).meta({ description: 'Deployments `pending`, `building` or `deploying` right now.' }),
  })
  .meta({ id: 'BusyProject' });

export function busyProjectJson(p: { id: number; name: string; user_id: number; ongoing: number }): z.infer<typeof busyProjectSchema> {
  return { projectId: p.id, projectName: p.name, userId: p.user_id, ongoing: p.ongoing };
}
