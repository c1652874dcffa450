import { z } from 'zod';
import type { EventRow } from '../../db/tables.js';
import { listEventsQuery } from '../events/events.schema.js';
import { summarize } from './summary.js';

/**
 * Input and output of `GET /projects/:id/activity`. The query is `GET /events`'s own `limit` and
 * `cursor` (same bounds, same opaque cursor, same 400s), and the id is its `projectId`: one set of
 * rules for both feeds.
 */
export const activityParams = z.object({ id: listEventsQuery.shape.projectId.unwrap() });
export const activityQuery = listEventsQuery.pick({ limit: true, cursor: true });

/** The only fields an activity item may carry. */
export interface ActivityJson {
  id: number;
  name: string;
  occurredAt: string;
  summary: string;
  payload: Record<string, unknown>;
}

export function activityJson(e: EventRow): ActivityJson {
  return {
    id: e.id,
    name: e.name,
    occurredAt: e.occurred_at.toISOString(),
    summary: summarize(e.name, e.payload),
    payload: e.payload,
  };
}
