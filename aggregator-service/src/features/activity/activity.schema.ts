import { z } from 'zod';
import type { EventRow } from '../../db/tables.js';
import { listEventsQuery, MAX_LIMIT, nextCursorSchema } from '../events/events.schema.js';
import { summarize } from './summary.js';

/**
 * Input and output of `GET /projects/:id/activity`. The query is `GET /events`'s own `limit` and
 * `cursor` (same bounds, same opaque cursor, same 400s), and the id is its `projectId`: one set of
 * rules for both feeds.
 */
export const activityParams = z.object({
  id: listEventsQuery.shape.projectId.unwrap().meta({ description: 'The project id. Not a positive integer: 400.' }),
});
export const activityQuery = listEventsQuery.pick({ limit: true, cursor: true });

/** The only fields an activity item may carry: an event reduced to what a timeline shows, plus its sentence. */
export const activityItemSchema = z
  .object({
    id: z.int().min(1).meta({ description: "The store's id of the event (`GET /events/{id}`)." }),
    name: z.string().meta({ description: 'The event name, e.g. `deployment.status_changed`.' }),
    occurredAt: z.iso.datetime().meta({ description: 'When it happened, in UTC.' }),
    summary: z.string().meta({
      description:
        'A short sentence for a timeline, one form per catalogue event: `Deployment #42 created`, `Deployment #42: building → deploying`, ' +
        '`Deployment #42 finished in 37 s`, `Deployment #42 failed (was building)`, `Deployment #42 cancelled (was pending) via API`, ' +
        '`Project got its URL https://…`; for other names `Event <name>` (and `on deployment #N` when the payload names one).',
      examples: ['Deployment #42: building → deploying'],
    }),
    payload: z.record(z.string(), z.unknown()).meta({ description: 'The payload as received.' }),
  })
  .meta({ title: 'ActivityItem', description: 'One event of the project, with a short human sentence describing it.' });

export type ActivityJson = z.infer<typeof activityItemSchema>;

export const activityPageSchema = z
  .object({ data: z.array(activityItemSchema).max(MAX_LIMIT), nextCursor: nextCursorSchema })
  .meta({ title: 'ActivityPage' });

export function activityJson(e: EventRow): ActivityJson {
  return {
    id: e.id,
    name: e.name,
    occurredAt: e.occurred_at.toISOString(),
    summary: summarize(e.name, e.payload),
    payload: e.payload,
  };
}
