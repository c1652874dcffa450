import { z } from 'zod';
import { listEventsQuery } from '../events/events.schema.js';
import { EXPORT_FORMATS } from './export.format.js';

/**
 * `GET /events/export?format=&name=&projectId=&deploymentId=&userId=&from=&to=`: the filters of
 * `GET /events` (same validation, same meaning: `from` inclusive, `to` exclusive) and the format,
 * `ndjson` when absent. No `limit` or `cursor`: an export is everything that matches.
 */
export const exportQuery = listEventsQuery
  .pick({ name: true, projectId: true, deploymentId: true, userId: true, from: true, to: true })
  .extend({
    format: z
      .enum(EXPORT_FORMATS, { error: `must be one of ${EXPORT_FORMATS.join(', ')}` })
      .default('ndjson')
      .meta({ description: 'The file format. Another value is a 400.' }),
  });

export type ExportQuery = z.infer<typeof exportQuery>;
