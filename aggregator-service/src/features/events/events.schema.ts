import { z } from 'zod';
import type { EventRow } from '../../db/tables.js';
import { decodeCursor } from './cursor.js';
import { instant } from './instant.js';

/** Query and path schemas of the read routes, and the allow-list that shapes an event response. */

/** The largest value of PostgreSQL's `integer`, the type of the id columns copied out of payloads. */
export const INT4_MAX = 2_147_483_647;

/** Page sizes of `GET /events`. */
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

/** An id in the path or query that fits `integer` (the payload reference columns). */
const refId = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive integer')
  .transform(Number)
  .refine((n) => n <= INT4_MAX, 'is out of range');

/** The store's own id, a `bigint`: any positive safe integer. */
export const eventIdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer')
    .transform(Number)
    .refine(Number.isSafeInteger, 'is out of range'),
});

/** `GET /events?name=&projectId=&deploymentId=&userId=&from=&to=&limit=&cursor=`; other parameters are ignored. */
export const listEventsQuery = z.object({
  name: z.string().min(1).max(100).optional(),
  projectId: refId.optional(),
  deploymentId: refId.optional(),
  userId: refId.optional(),
  /** Inclusive lower bound on `occurredAt`. */
  from: instant.optional(),
  /** Exclusive upper bound on `occurredAt`. */
  to: instant.optional(),
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,5}$/, 'must be a positive integer')
    .transform(Number)
    .refine((n) => n <= MAX_LIMIT, `must be at most ${MAX_LIMIT}`)
    .optional()
    .transform((n) => n ?? DEFAULT_LIMIT),
  cursor: z
    .string()
    .transform((value, ctx) => {
      const cursor = decodeCursor(value);
      if (!cursor) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor this service gave out' });
        return z.NEVER;
      }
      return cursor;
    })
    .optional(),
});

export type ListEventsQuery = z.infer<typeof listEventsQuery>;

/** The only fields an event response may carry. */
export interface EventJson {
  id: number;
  eventId: string;
  name: string;
  occurredAt: string;
  createdAt: string;
  projectId: number | null;
  deploymentId: number | null;
  userId: number | null;
  payload: Record<string, unknown>;
}

export function eventJson(e: EventRow): EventJson {
  return {
    id: e.id,
    eventId: e.event_id,
    name: e.name,
    occurredAt: e.occurred_at.toISOString(),
    createdAt: e.created_at.toISOString(),
    projectId: e.project_id,
    deploymentId: e.deployment_id,
    userId: e.user_id,
    payload: e.payload,
  };
}
