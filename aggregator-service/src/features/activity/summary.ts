import { EVENT_PAYLOADS, isEventName, type EventName, type EventPayload, type EventSource } from '@hosting/shared';

/**
 * The one-line, human sentence the activity feed shows for an event, e.g. "Deployment #42:
 * building → deploying". Pure: the name and the payload as stored, nothing else (no clock, no
 * database), so each catalogue event's sentence is unit-tested.
 *
 * A catalogue name whose payload does not match its schema (a row written before the schema
 * tightened, or by hand) gets the generic sentence rather than "Deployment #undefined".
 */

/** `37` → `37 s`, `125` → `2 min 5 s`, `3720` → `1 h 2 min`: short, and exact where it matters. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const min = Math.floor(s / 60);
    const sec = s % 60;
    return sec === 0 ? `${min} min` : `${min} min ${sec} s`;
  }
  const h = Math.floor(s / 3600);
  const min = Math.floor((s % 3600) / 60);
  return min === 0 ? `${h} h` : `${h} h ${min} min`;
}

const VIA: Record<EventSource, string> = { api: 'via API', webhook: 'via webhook', seed: 'by npm run seed' };

/** `name "a" → "b", createdAt "…" → "…"`: every changed field, in the payload's order. */
function changed(changes: Partial<Record<string, { from: string; to: string }>>): string {
  return Object.entries(changes)
    .map(([field, c]) => `${field} ${JSON.stringify(c!.from)} → ${JSON.stringify(c!.to)}`)
    .join(', ');
}

type Sentences = { [N in EventName]: (p: EventPayload<N>) => string };

const SENTENCES: Sentences = {
  'deployment.created': (p) => `Deployment #${p.deploymentId} created`,
  'deployment.status_changed': (p) => `Deployment #${p.deploymentId}: ${p.from} → ${p.to}`,
  'deployment.succeeded': (p) => `Deployment #${p.deploymentId} finished in ${formatDuration(p.deployedIn)}`,
  'deployment.failed': (p) => `Deployment #${p.deploymentId} failed (was ${p.from})`,
  'deployment.cancelled': (p) => `Deployment #${p.deploymentId} cancelled (was ${p.from}) ${VIA[p.source]}`,
  'project.url_assigned': (p) => `Project got its URL ${p.url}`,
  'project.secret_rotated': (p) => `App secret rotated ${VIA[p.source]}`,
  'project.updated': (p) => `Project changed ${VIA[p.source]}: ${changed(p.changes)}`,
  'user.updated': (p) => `User #${p.userId} changed ${VIA[p.source]}: ${changed(p.changes)}`,
};

/** A positive integer id from a payload of unknown shape, or undefined. */
function idIn(payload: Record<string, unknown>, key: string): number | undefined {
  const value = payload[key];
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** For names outside the catalogue (the store accepts any `area.action`): the name, and the deployment when there is one. */
function generic(name: string, payload: Record<string, unknown>): string {
  const deploymentId = idIn(payload, 'deploymentId');
  return deploymentId === undefined ? `Event ${name}` : `Event ${name} on deployment #${deploymentId}`;
}

export function summarize(name: string, payload: Record<string, unknown>): string {
  if (!isEventName(name)) return generic(name, payload);
  const parsed = EVENT_PAYLOADS[name].safeParse(payload);
  if (!parsed.success) return generic(name, payload);
  return (SENTENCES[name] as (p: unknown) => string)(parsed.data);
}
