import { z } from 'zod';
import { integerText } from '@hosting/shared';

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
    .optional()
    .meta({
      description: `Events per page, 1–${ACTIVITY_MAX_LIMIT}.`,
      override: integerText({ minimum: 1, maximum: ACTIVITY_MAX_LIMIT, default: ACTIVITY_DEFAULT_LIMIT }),
    }),
  cursor: z
    .string()
    .regex(CURSOR_PATTERN, 'is not a cursor this service gave out')
    .optional()
    .meta({ description: 'The `nextCursor` of the previous page; opaque. One that was not given out is a 400.' }),
});

export type ActivityQuery = z.infer<typeof activityQuery>;

/**
 * The only fields an activity item may carry. The same schemas check the aggregator's page (an
 * answer of another shape is an aggregator failure, a 503, never passed on; fields it adds are
 * dropped, the allow-list) and describe our answer.
 */
export const activityItemSchema = z
  .object({
    id: z.int().min(1).meta({ description: "The event's id in the event store." }),
    name: z.string().meta({ description: 'The event name, e.g. `deployment.status_changed` (see the event catalogue in the README).' }),
    occurredAt: z.iso.datetime({ offset: true }).meta({ description: 'When it happened, in UTC.' }),
    summary: z.string().meta({
      description:
        'A sentence for a timeline: `Deployment #42 created`, `Deployment #42: building → deploying`, `Deployment #42 finished in 37 s`, ' +
        '`Deployment #42 failed (was building)`, `Deployment #42 cancelled (was pending) via API`, `Project got its URL https://…`; ' +
        '`Event <name>` for events outside the catalogue.',
      examples: ['Deployment #42 finished in 37 s'],
    }),
    payload: z.record(z.string(), z.unknown()).meta({ description: "The event's payload, as stored." }),
  })
  .meta({ title: 'ActivityItem', description: 'One event of the project, with a short sentence describing it.' });

export type ActivityJson = z.infer<typeof activityItemSchema>;

export const activityPageSchema = z
  .object({
    data: z.array(activityItemSchema).max(ACTIVITY_MAX_LIMIT),
    nextCursor: z
      .string()
      .regex(CURSOR_PATTERN)
      .nullable()
      .meta({ description: 'Pass it as `cursor` for the next page; null on the last page.' }),
  })
  .meta({ title: 'ActivityPage' });

export type ActivityPage = z.infer<typeof activityPageSchema>;

/** What we accept from the aggregator is a page we could answer with. */
export const aggregatorActivityPage = activityPageSchema;

export function activityJson(item: ActivityJson): ActivityJson {
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
