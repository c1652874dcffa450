import { z } from 'zod';

/**
 * The event envelope both services validate with: project-service writes it to its outbox, the
 * relay sends it, the aggregator stores it. `eventId` is the idempotency key end to end.
 *
 * The catalogue (README "Event catalogue"): every payload carries what analytics and a feed need
 * without a join: project id and name, owner user id, the deployment, the source of the action
 * (`api`, `webhook`, or `seed` for `npm run seed`) and the request id that caused it (null from the
 * seed loader). Project events that are not about a deployment (`project.secret_rotated`,
 * `project.updated`) carry no `deploymentId`; `user.updated` carries no project.
 */
export const DEPLOYMENT_STATUSES = ['pending', 'building', 'deploying', 'done', 'failed', 'cancelled'] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

/** What caused an event: a request to the API, a CI system's webhook, or `npm run seed --overwrite`. */
export const EVENT_SOURCES = ['api', 'webhook', 'seed'] as const;
export type EventSource = (typeof EVENT_SOURCES)[number];

/** Ids are PostgreSQL `integer`s on both sides. */
const id = z.number().int().positive().max(2_147_483_647);
const status = z.enum(DEPLOYMENT_STATUSES);

const base = z.object({
  projectId: id,
  projectName: z.string(),
  userId: id,
  source: z.enum(EVENT_SOURCES),
  requestId: z.string().max(128).nullable(),
});

/** What a field was and became, as the API spells it (dates as ISO-8601 strings). */
const fieldChange = z.object({ from: z.string(), to: z.string() }).strict();

const deploymentBase = base.extend({ deploymentId: id });

export const EVENT_PAYLOADS = {
  /** A deployment was created (status `pending`). */
  'deployment.created': deploymentBase.extend({ status: z.literal('pending') }),
  /** Every applied status change, from the webhook or a cancel: `from` → `to`. */
  'deployment.status_changed': deploymentBase.extend({ from: status, to: status, deployedIn: z.number().int().min(0).nullable() }),
  /** A deployment reached `done`; `deployedIn` is whole seconds from creation, by the database clock. */
  'deployment.succeeded': deploymentBase.extend({ deployedIn: z.number().int().min(0) }),
  /** A deployment reached `failed`. */
  'deployment.failed': deploymentBase.extend({ from: status }),
  /** A deployment reached `cancelled`, through the cancel route (`api`) or the webhook. */
  'deployment.cancelled': deploymentBase.extend({ from: status }),
  /** A project got its public URL with its first successful deployment. */
  'project.url_assigned': deploymentBase.extend({ url: z.string().url() }),
  /** A project's app secret was replaced (`POST /projects/:id/secret`). Never the secret, nor its digest. */
  'project.secret_rotated': base.extend({ rotatedAt: z.iso.datetime({ offset: true }) }).strict(),
  /** `npm run seed -- --overwrite` changed a project's name or creation date (never its URL, owner or secret). */
  'project.updated': base.extend({ changes: z.partialRecord(z.enum(['name', 'createdAt']), fieldChange) }).strict(),
  /** `npm run seed -- --overwrite` changed a user's email, username or creation date. */
  'user.updated': base
    .pick({ userId: true, source: true, requestId: true })
    .extend({ changes: z.partialRecord(z.enum(['email', 'username', 'createdAt']), fieldChange) })
    .strict(),
} as const;

export type EventName = keyof typeof EVENT_PAYLOADS;
export const EVENT_NAMES = Object.keys(EVENT_PAYLOADS) as EventName[];

/** Whether `name` is in the catalogue. Own keys only: `__proto__` or `constructor` would find Object's (the attack suite: a 500). */
export function isEventName(name: string): name is EventName {
  return Object.hasOwn(EVENT_PAYLOADS, name);
}
export type EventPayload<N extends EventName> = z.infer<(typeof EVENT_PAYLOADS)[N]>;

/** Event names the store accepts: the catalogue's, and future ones of the same form. */
const EVENT_NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/** What a payload outside the catalogue must hold: its ids, when present, are ids. */
export const eventPayloadRefs = z.object({ projectId: id.optional(), deploymentId: id.optional(), userId: id.optional() });

/** One event on the wire. Known names get their catalogue payload checked; new names a generic object. */
export const eventEnvelopeSchema = z
  .object({
    eventId: z.uuid(),
    name: z.string().max(100).regex(EVENT_NAME, 'must look like "area.action", lower case'),
    occurredAt: z.iso.datetime({ offset: true }),
    payload: z.record(z.string(), z.unknown()),
  })
  .strict()
  .superRefine((event, ctx) => {
    const known = isEventName(event.name) ? EVENT_PAYLOADS[event.name] : undefined;
    const result = (known ?? eventPayloadRefs).safeParse(event.payload);
    if (!result.success) {
      for (const issue of result.error.issues) {
        ctx.addIssue({ code: 'custom', path: ['payload', ...issue.path.map(String)], message: issue.message });
      }
    }
  });

export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;
