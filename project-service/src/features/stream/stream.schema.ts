import { z } from 'zod';
import { integerText } from '@hosting/shared';
import { deploymentJson } from '../deployments/deployments.schema.js';
import type { ChangeRow } from './stream.repo.js';

/** A stream position: the id of a `deployment_changes` row (0: before the first). */
const eventId = z
  .string()
  .trim()
  .regex(/^[0-9]{1,15}$/, 'must be the id of an event of this stream (a non-negative integer)')
  .transform(Number);

/**
 * Where a reconnecting client resumes: the `Last-Event-ID` header (what EventSource sends by
 * itself), else the `lastEventId` query parameter (for clients that cannot set headers). The header
 * wins: after an automatic reconnect it is newer than the query of the URL first opened. Other
 * query parameters are ignored, as everywhere (cache busters).
 */
export const streamHeaders = z.object({
  // Header names are case-insensitive: the document names it as the handler reads it.
  'last-event-id': eventId.optional().meta({
    description: 'Resume after this event: the `id` of the last event received. EventSource sends it by itself when it reconnects.',
  }),
});
export const streamQuery = z.object({
  lastEventId: eventId.optional().meta({
    description: 'The same as `Last-Event-ID`, for clients that cannot set headers. The header wins when both are given.',
    override: integerText({ minimum: 0, maximum: 999_999_999_999_999 }),
  }),
});

/** `event: deployment`: the deployment as the API shows it (the response allow-list of deployments). */
export function deploymentFrame(change: ChangeRow): string {
  const json = deploymentJson({
    id: change.deployment_id,
    project_id: change.project_id,
    status: change.status,
    deployed_in: change.deployed_in,
    created_at: change.created_at,
    updated_at: change.updated_at,
  });
  return `id: ${change.id}\nevent: deployment\ndata: ${JSON.stringify(json)}\n\n`;
}

export type ResetReason = 'expired' | 'unknown' | 'too-many';

/**
 * `event: reset`: the client's Last-Event-ID cannot be resumed without a gap (older than the replay
 * window, more changes than a replay sends, or not from this stream). The client reloads what it
 * shows through the REST API; the stream goes on live from `id`.
 */
export function resetFrame(id: number, reason: ResetReason): string {
  return `id: ${id}\nevent: reset\ndata: ${JSON.stringify({ reason })}\n\n`;
}

export const HEARTBEAT = ': heartbeat\n\n';

export function retryFrame(ms: number): string {
  return `retry: ${ms}\n\n`;
}
