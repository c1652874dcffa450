import { z } from 'zod';
import { answerHeaders, errorResponse, errors, requestIdParam, retryAfterHeader, type RouteTable } from '@hosting/shared';
import { CSV_COLUMNS } from './export.format.js';
import { EXPORT_MAX_DURATION_MS } from './export.repo.js';
import { EXPORT_IDLE_TIMEOUT_MS } from './export.routes.js';
import { exportQuery } from './export.schema.js';
import { MAX_CONCURRENT_EXPORTS } from './export.service.js';

/** What the export answers: the route table of `GET /events/export`. */

const NDJSON_EXAMPLE =
  '{"id":1,"eventId":"0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d","name":"deployment.created","occurredAt":"2026-11-20T10:00:00.000Z","createdAt":"2026-11-20T10:00:00.120Z","projectId":1,"deploymentId":7,"userId":1,"payload":{"projectId":1,"projectName":"shop","userId":1,"deploymentId":7,"source":"api","requestId":"req-1","status":"pending"}}\n';
const CSV_EXAMPLE =
  `${CSV_COLUMNS.join(',')}\r\n` +
  '1,0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d,deployment.created,2026-11-20T10:00:00.000Z,2026-11-20T10:00:00.120Z,1,7,1,' +
  '"{""projectId"":1,""projectName"":""shop"",""userId"":1,""deploymentId"":7,""source"":""api"",""requestId"":""req-1"",""status"":""pending""}"\r\n';

export const exportApi: RouteTable = {
  '/events/export': {
    get: {
      tags: ['events'],
      operationId: 'exportEvents',
      summary: 'Export events (streamed)',
      description: `Every event matching the filters, **oldest first** (by \`occurredAt\`, then id), in one streamed answer
(chunked; no \`Content-Length\`). It is read from the database through a cursor as fast as the client reads, so
any size exports in constant memory. A response cut short (the connection closes before the last chunk) is an
export that failed midway: retry it, there is no partial resume.

- \`format=ndjson\` (the default): one event per line, exactly as \`GET /events/{id}\` shows it, each line ending in \`\\n\`.
- \`format=csv\`: RFC 4180, UTF-8 without BOM, CRLF line ends, a header row
  \`${CSV_COLUMNS.join(',')}\`. Fields holding a comma, a double quote or a line break are quoted with quotes doubled;
  \`payload\` is the payload's JSON text, always quoted; a null id is an empty field.

The filters are those of \`GET /events\`, with the same rules (\`from\` inclusive, \`to\` exclusive). At most
${MAX_CONCURRENT_EXPORTS} exports run at once per instance (each holds a database connection while it streams); another
is a 503 with \`Retry-After\`. An export is cut when the client takes nothing for ${EXPORT_IDLE_TIMEOUT_MS / 1000} s, and when it has run for
${EXPORT_MAX_DURATION_MS / 60_000} minutes (export large ranges in pieces with \`from\`/\`to\`).`,
      parameters: [requestIdParam],
      requestParams: { query: exportQuery },
      responses: {
        '200': {
          description: 'The export, streamed. The media type follows `format`.',
          headers: answerHeaders({
            'Content-Disposition': z
              .string()
              .regex(/^attachment; filename="events-[0-9T:Z-]+\.(ndjson|csv)"$/)
              .meta({
                description: 'A download with a file name: `attachment; filename="events-2026-11-20T10-00-00Z.ndjson"` (or `.csv`).',
              }),
            'Cache-Control': z.enum(['no-store']).meta({ description: '`no-store`: an export is a snapshot, never cached.' }),
          }),
          content: {
            'application/x-ndjson': {
              schema: z.string().meta({ description: 'One JSON event per line (see the `Event` schema).' }),
              example: NDJSON_EXAMPLE,
            },
            'text/csv': {
              schema: z.string().meta({ description: `RFC 4180 with the header row \`${CSV_COLUMNS.join(',')}\`.` }),
              example: CSV_EXAMPLE,
            },
          },
        },
        ...errors(400, 401, 500),
        '503': errorResponse(
          `Too many exports running (${MAX_CONCURRENT_EXPORTS} per instance), no database connection free, or the database too slow to start the export: try again after \`Retry-After\` seconds (\`ServiceUnavailableError\`).`,
          { status: 503, message: `${MAX_CONCURRENT_EXPORTS} exports are already running; try again when one has finished` },
          { 'Retry-After': retryAfterHeader },
        ),
      },
    },
  },
};
