import { z } from 'zod';
import { deploymentStatus } from '../deployments/deployments.schema.js';

/** `{ "id": <deployment id>, "status": "<status>" }`, nothing else: the body of `POST /deployment/webhook`. */
export const webhookBody = z
  .object({
    id: z.int().positive().max(2_147_483_647).meta({ description: 'id of the deployment to update' }),
    status: deploymentStatus,
  })
  .strict()
  .meta({ id: 'WebhookRequest' });
