import { z } from 'zod';
import {
  answerHeaders,
  errorResponse,
  errors,
  rateLimitHeaderSchemas,
  requestIdParam,
  retryAfterHeader,
  type ApiOperation,
  type RouteTable,
} from '@hosting/shared';
import { projectIdParams } from '../projects/projects.schema.js';
import { streamHeaders, streamQuery } from './stream.schema.js';

/** What the live streams answer: the route table of `GET /deployments/stream` and `GET /projects/{id}/deployments/stream`. */

const EXAMPLE = `retry: 2000

id: 1041
event: deployment
data: {"id":7,"projectId":1,"status":"building","deployedIn":null,"createdAt":"2026-11-20T10:00:00.000Z","updatedAt":"2026-11-20T10:00:12.000Z"}

: heartbeat

id: 1042
event: deployment
data: {"id":7,"projectId":1,"status":"done","deployedIn":42,"createdAt":"2026-11-20T10:00:00.000Z","updatedAt":"2026-11-20T10:00:42.000Z"}

`;

const EVENTS = `[Server-Sent Events](https://html.spec.whatwg.org/multipage/server-sent-events.html): open it with
\`EventSource\` (or any SSE client) and the admin token. The stream never ends by itself.

- **\`event: deployment\`**, one per created deployment (\`pending\`) and one per applied status change
  (webhook or cancel; a repeated or stale report changes nothing and sends nothing), whatever process of the
  service made the change. \`data\` is the deployment as \`GET /deployments/{id}\` shows it
  (\`{ id, projectId, status, deployedIn, createdAt, updatedAt }\`, the \`Deployment\` schema), as it was right after
  the change. \`id\` is the event's position in the stream: increasing, shared by every process and by both routes.
  Events of one deployment arrive in the order the changes were made.
- **\`event: reset\`** (\`data: {"reason": "expired" | "too-many" | "unknown"}\`): the \`Last-Event-ID\` cannot be
  resumed without a gap (older than the replay window, more than 10,000 changes behind, or not an id of this stream).
  Reload what you show through \`GET /deployments\`; the stream goes on live from there.
- **\`: heartbeat\`** comment lines every 15 s (\`STREAM_HEARTBEAT_MS\`), so proxies and clients see the connection alive.
- **\`retry:\`** first: how long (ms) an EventSource waits before reconnecting.

**Resuming.** A client that reconnects with \`Last-Event-ID\` (EventSource sends it by itself), or with the
\`lastEventId\` query parameter, first gets exactly the events it missed, then the live ones: no gap, no duplicate,
for the last 10 minutes (\`STREAM_REPLAY_WINDOW_MS\`). Without either it starts with the next change.

**Limits.** One process serves at most 1,000 streams at once (\`STREAM_MAX_CLIENTS\`); beyond, a 503 with
\`Retry-After\`. Users' tokens (JWT mode) together get nine tenths of them, the rest is kept for the service token
and admins; one user's token holds at most 10 at once (\`STREAM_MAX_PER_USER\`), beyond which it gets a 429 with
\`Retry-After\`: close a stream (or wait for one to end) first. A client that does not read what it is sent is disconnected (and resumes where it was when it
reconnects). When the service shuts down, its streams end: reconnect (to another instance) with \`Last-Event-ID\`.`;

function operation(operationId: string, summary: string, scope: string, project: boolean): ApiOperation {
  return {
    tags: ['deployment'],
    operationId,
    summary,
    description: `${scope}\n\n${EVENTS}`,
    parameters: [requestIdParam],
    requestParams: { ...(project ? { path: projectIdParams } : {}), header: streamHeaders, query: streamQuery },
    responses: {
      '200': {
        description: 'The stream of events, until the client or the server closes it.',
        headers: answerHeaders({
          'Cache-Control': z.literal('private, no-store, no-transform').meta({ description: 'No cache may keep or transform the stream.' }),
          'X-Accel-Buffering': z.literal('no').meta({ description: 'Tells nginx not to buffer the stream.' }),
        }),
        content: {
          'text/event-stream': {
            schema: z.string().meta({ description: 'SSE frames: `deployment` and `reset` events, `: heartbeat` comments.' }),
            example: EXAMPLE,
          },
        },
      },
      '400': errorResponse('A `Last-Event-ID` or `lastEventId` that is not an event id, or a bad path parameter (`ValidationError`).', {
        status: 400,
        name: 'ValidationError',
        message: 'Invalid header.last-event-id: must be the id of an event of this stream (a non-negative integer)',
        issues: [{ path: 'header.last-event-id', message: 'must be the id of an event of this stream (a non-negative integer)' }],
      }),
      ...errors(401),
      ...(project
        ? {
            '404': errorResponse("No such project, or (a user's token) not theirs: the same answer (`NotFoundError`).", {
              status: 404,
              message: 'Project 42 not found',
            }),
          }
        : {}),
      ...errors(500),
      '429': errorResponse(
        "A user's token (JWT mode) already holds `STREAM_MAX_PER_USER` streams in this process: close one first; or a rate " +
          'limit of every operation behind a credential (see **Limits** above), which also sends the `RateLimit-*` headers. Try again ' +
          'after `Retry-After` seconds (`TooManyRequestsError`).',
        { status: 429, message: 'This user already has 10 live streams open; close one, or try again later' },
        {
          'Retry-After': retryAfterHeader,
          ...Object.fromEntries(Object.entries(rateLimitHeaderSchemas).map(([name, header]) => [name, header.optional()])),
        },
      ),
      '503': errorResponse(
        "This process already serves `STREAM_MAX_CLIENTS` streams (users' tokens: nine tenths of them), is shutting down, or runs without the stream; or the database " +
          'took too long to answer. Try again after `Retry-After` seconds (`ServiceUnavailableError`).',
        { status: 503, message: 'This process already serves 1000 live streams; try again shortly' },
        { 'Retry-After': retryAfterHeader },
      ),
    },
  };
}

export const streamApi: RouteTable = {
  '/deployments/stream': {
    get: operation(
      'streamDeployments',
      'Live deployment changes of every project (Server-Sent Events)',
      "Every deployment change of every project, as it happens; for a user's token (JWT mode), of that user's projects only.",
      false,
    ),
  },
  '/projects/{id}/deployments/stream': {
    get: operation(
      'streamProjectDeployments',
      'Live deployment changes of one project (Server-Sent Events)',
      "The deployment changes of one project, as they happen. An unknown project is a 404; so is another user's project for a user's token (JWT mode).",
      true,
    ),
  },
};
