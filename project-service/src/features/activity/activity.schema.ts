import { z } from 'zod';

/**
 * Input and output of `GET /projects/:id/activity`. The query is checked here before anything is
 * sent (the same bounds as the aggregator's); the cursor is the aggregator's, opaque to us: only
 * its form is checked here, the aggregator says whether it gave it out.
 */
export const ACTIVITY_DEFAULT_LIMIT = 50;
export const ACTIVITY_MAX_LIMIT = 500;
export const CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,200}$/;

export const activityQuery = z.object({
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,5}$/, 'must be a positive integer')
    .transform(Number)
    .refine((n) => n <= ACTIVITY_MAX_LIMIT, `must be at most ${ACTIVITY_MAX_LIMIT}`)
    .optional(),
  cursor: z.string().regex(CURSOR_PATTERN, 'is not a cursor this service gave out').optional(),
});

export type ActivityQuery = z.infer<typeof activityQuery>;

/**
 * What we accept from the aggregator: its page, checked, and cut down to the fields we show.
 * Anything else it sends is dropped here (the allow-list), and an answer of another shape is an
 * aggregator failure (a 503), never passed on.
 */
const aggregatorItem = z.object({
  id: z.number().int().positive(),
  name: z.string(),
  occurredAt: z.iso.datetime({ offset: true }),
  summary: z.string(),
  payload: z.record(z.string(), z.unknown()),
});

export const aggregatorActivityPage = z.object({
  data: z.array(aggregatorItem).max(ACTIVITY_MAX_LIMIT),
  nextCursor: z.string().regex(CURSOR_PATTERN).nullable(),
});

/** The only fields an activity item may carry. */
export interface ActivityJson {
  id: number;
  name: string;
  occurredAt: string;
  summary: string;
  payload: Record<string, unknown>;
}

export interface ActivityPage {
  data: ActivityJson[];
  nextCursor: string | null;
}

export function activityJson(item: z.infer<typeof aggregatorItem>): ActivityJson {
  return { id: item.id, name: item.name, occurredAt: item.occurredAt, summary: item.summary, payload: item.payload };
}

/** An aggregator 400 (only a cursor it did not give out gets past our own checks) as our own issues, under `query.`. */
const aggregatorProblem = z.object({
  issues: z.array(z.object({ path: z.string().regex(/^query\.(limit|cursor)$/), message: z.string().max(200) })).min(1),
});

export function queryIssuesOf(body: unknown): Array<{ path: string; message: string }> | undefined {
  const parsed = aggregatorProblem.safeParse(body);
  return parsed.success ? parsed.data.issues : undefined;
}
