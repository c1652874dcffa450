import { z } from 'zod';

/**
 * The settings `npm run cluster` reads beside the services' own (README's configuration table and
 * .env.example state them; the docs-defaults test holds both to this schema).
 */
export const clusterEnv = z.object({
  /** Processes of each service behind HAProxy. */
  CLUSTER_REPLICAS: z.coerce.number().int().min(1).max(16).default(2),
});
