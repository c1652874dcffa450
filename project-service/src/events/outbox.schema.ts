import { z } from 'zod';

/** The answer of `GET /outbox/status` (outbox.routes.ts maps the repository's figures onto it). */
export const outboxStatusSchema = z
  .object({
    undelivered: z.int().min(0).meta({ description: 'Events not yet delivered.' }),
    oldestUndeliveredAt: z.iso.datetime().nullable().meta({ description: 'When the oldest of them happened; null when none waits.' }),
    oldestUndeliveredAgeSeconds: z.int().min(0).meta({ description: 'Its age in seconds; 0 when none waits.' }),
    maxAttempts: z.int().min(0).meta({ description: 'The most delivery attempts any waiting event has had.' }),
    lastError: z.string().nullable().meta({ description: 'The last delivery error of a waiting event, if any.' }),
  })
  .meta({ id: 'OutboxStatus' });
