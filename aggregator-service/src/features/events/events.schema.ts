import { z } from 'zod';
import { EVENT_NAMES, EVENT_PAYLOADS, eventEnvelopeSchema, eventPayloadRefs, integerText, type EventName } from '@hosting/shared';
import type { EventRow } from '../../db/tables.js';
import { CURSOR_PATTERN, decodeCursor } from './cursor.js';
import { instant } from './instant.js';

/**
 * The schemas of the event store's routes: what the handlers parse, what the allow-list answers,
 * and (through events.api.ts) what the document shows.
 */

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
  .refine((n) => n <= INT4_MAX, 'is out of range')
  .meta({ override: integerText({ minimum: 1, maximum: INT4_MAX }) });

/** The store's own id, a `bigint`: any positive safe integer. */
export const eventIdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'must be a positive integer')
    .transform(Number)
    .refine(Number.isSafeInteger, 'is out of range')
    .meta({
      description: "The store's id. Not a positive integer: 400.",
      override: integerText({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    }),
});

/** `cursor` of a page: opaque to the client, checked by decoding it. */
export const pageCursor = z
  .string()
  .transform((value, ctx) => {
    const cursor = decodeCursor(value);
    if (!cursor) {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor this service gave out' });
      return z.NEVER;
    }
    return cursor;
  })
  .optional()
  .meta({
    description: 'The `nextCursor` of the previous page; opaque. One this service did not give out is a 400.',
    override: { pattern: CURSOR_PATTERN.source },
  });

/** `limit` of a page. */
export const pageLimit = z
  .string()
  .regex(/^[1-9][0-9]{0,5}$/, 'must be a positive integer')
  .transform(Number)
  .refine((n) => n <= MAX_LIMIT, `must be at most ${MAX_LIMIT}`)
  .optional()
  .transform((n) => n ?? DEFAULT_LIMIT)
  .meta({
    description: `Events per page, 1–${MAX_LIMIT}.`,
    override: integerText({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT }),
  });

/** `GET /events?name=&projectId=&deploymentId=&userId=&from=&to=&limit=&cursor=`; other parameters are ignored. */
export const listEventsQuery = z.object({
  name: z.string().min(1).max(100).optional().meta({ description: 'Only events of this name, e.g. `deployment.succeeded`.' }),
  projectId: refId.optional().meta({ description: 'Only events about this project.' }),
  deploymentId: refId.optional().meta({ description: 'Only events about this deployment.' }),
  userId: refId.optional().meta({ description: "Only events about this user's projects." }),
  from: instant.optional().meta({
    description: 'Only events that occurred at or after this instant (ISO 8601 with `Z` or an offset; encode `+` as `%2B`).',
  }),
  to: instant.optional().meta({ description: 'Only events that occurred before this instant (exclusive).' }),
  limit: pageLimit,
  cursor: pageCursor,
});

export type ListEventsQuery = z.infer<typeof listEventsQuery>;

const nullableRefId = (description: string) => z.int().min(1).max(INT4_MAX).nullable().meta({ description });

/** The only fields an event response may carry. */
export const eventSchema = z
  .object({
    id: z.int().min(1).meta({ description: "The store's id (for `GET /events/{id}`)." }),
    eventId: z.uuid().meta({ description: "The sender's idempotency key, lower case." }),
    name: z.string(),
    occurredAt: z.iso.datetime().meta({ description: 'When it happened, in UTC.' }),
    createdAt: z.iso.datetime().meta({ description: 'When the store received it, in UTC.' }),
    projectId: nullableRefId('`payload.projectId`, if any.'),
    deploymentId: nullableRefId('`payload.deploymentId`, if any.'),
    userId: nullableRefId('`payload.userId`, if any.'),
    payload: z.record(z.string(), z.unknown()).meta({ description: 'The payload as received.' }),
  })
  .meta({ id: 'Event', title: 'Event', description: 'A stored event.' });

export type EventJson = z.infer<typeof eventSchema>;

export const nextCursorSchema = z
  .string()
  .nullable()
  .meta({ description: 'Pass it as `cursor` for the next page; null on the last page.' });

export const eventPageSchema = z
  .object({ data: z.array(eventSchema).max(MAX_LIMIT), nextCursor: nextCursorSchema })
  .meta({ id: 'EventPage' });

export const ingestResultSchema = z
  .object({
    stored: z.int().min(0).meta({ description: 'Events stored by this request.' }),
    duplicates: z.int().min(0).meta({ description: 'Events already stored, or repeated earlier in this request.' }),
    results: z
      .array(
        z.object({
          eventId: z.uuid().meta({ description: 'As sent.' }),
          status: z.enum(['stored', 'duplicate']),
        }),
      )
      .meta({ description: 'One per event, in request order.' }),
  })
  .meta({
    id: 'IngestResult',
    examples: [
      {
        stored: 1,
        duplicates: 1,
        results: [
          { eventId: '0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d', status: 'stored' },
          { eventId: '5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6', status: 'duplicate' },
        ],
      },
    ],
  });

export type IngestResult = z.infer<typeof ingestResultSchema>;

const PAYLOAD_DESCRIPTIONS: Record<EventName, string> = {
  'deployment.created': 'A deployment was created (status `pending`).',
  'deployment.status_changed':
    'Every applied status change, from the webhook or a cancel: `from` → `to`; `deployedIn` is null unless `to` is `done`.',
  'deployment.succeeded': 'A deployment reached `done`; `deployedIn` is whole seconds from creation, by the database clock.',
  'deployment.failed': 'A deployment reached `failed`.',
  'deployment.cancelled': 'A deployment reached `cancelled`, through the cancel route (`api`) or the webhook.',
  'project.url_assigned': 'A project got its public URL with its first successful deployment.',
  'project.secret_rotated':
    "A project's app secret was replaced (`POST /projects/{id}/secret`). No `deploymentId`; never the secret nor its digest (the payload admits no other field).",
  'project.updated':
    'A project\'s name or creation date was changed by `npm run seed -- --overwrite` (`source: "seed"`, `requestId: null`): `changes` holds each field\'s `from` and `to`. Never its URL, owner or secret.',
  'user.updated':
    'A user\'s email, username or creation date was changed by `npm run seed -- --overwrite` (`source: "seed"`, `requestId: null`): `changes` holds each field\'s `from` and `to`. No project.',
};

/** `deployment.status_changed` → `DeploymentStatusChangedPayload`. */
function payloadSchemaName(name: string): string {
  return `${name
    .split(/[._]/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('')}Payload`;
}

/** The payload schemas, by component name, as the document shows them (as input: what a sender may send). */
export const payloadSchemas = {
  EventPayload: eventPayloadRefs.meta({
    description:
      'What the event says, as the sender wrote it (at most 32 kB with its envelope). The ids `projectId`, ' +
      "`deploymentId` and `userId`, when present, are copied into the event's columns for filtering.",
    unusedIO: 'input',
  }),
  ...Object.fromEntries(
    EVENT_NAMES.map((name) => [
      payloadSchemaName(name),
      EVENT_PAYLOADS[name].meta({ title: `${name} payload`, description: PAYLOAD_DESCRIPTIONS[name], unusedIO: 'input' }),
    ]),
  ),
};

/**
 * One event on the wire: the envelope schema both services validate with. Its refinement (a
 * catalogue name gets its payload checked against the catalogue, another name against
 * `eventPayloadRefs`) is code, which JSON Schema cannot be generated from: the document states it
 * as the `EventPayload` every payload is, and one `if`/`then` per catalogue name.
 */
export const eventEnvelopeBody = eventEnvelopeSchema.meta({
  id: 'EventEnvelope',
  title: 'EventEnvelope',
  description:
    'One event on the wire (shared/src/events/envelope.ts). A catalogue name gets its payload checked against ' +
    'its schema (the `if`/`then` below); another name of the form `area.action` takes any payload object.',
  override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
    (jsonSchema.properties as Record<string, unknown>).payload = { $ref: '#/components/schemas/EventPayload' };
    jsonSchema.allOf = EVENT_NAMES.map((name) => ({
      if: { properties: { name: { const: name } }, required: ['name'] },
      then: { properties: { payload: { $ref: `#/components/schemas/${payloadSchemaName(name)}` } } },
    }));
  },
});

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
