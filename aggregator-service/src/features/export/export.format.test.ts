import type { EventRow } from '../../db/tables.js';
import { csvField, csvHeader, csvRecord, exportFilename, ndjsonRecord } from './export.format.js';

const row = (over: Partial<EventRow> = {}): EventRow => ({
  id: 7,
  event_id: '0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d',
  name: 'deployment.created',
  payload: { projectId: 1, text: 'a' },
  occurred_at: new Date('2026-11-20T10:00:00.123Z'),
  created_at: new Date('2026-11-20T10:00:01Z'),
  project_id: 1,
  deployment_id: null,
  user_id: 3,
  ...over,
});

describe('csvField', () => {
  it.each([
    ['plain', 'plain'],
    ['', ''],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['cr\rhere', '"cr\rhere"'],
    ['émoji 🚀 ünïcode', 'émoji 🚀 ünïcode'],
  ])('%j → %j', (value, field) => {
    expect(csvField(value)).toBe(field);
  });

  it('quotes on demand', () => {
    expect(csvField('x', true)).toBe('"x"');
  });
});

describe('csvRecord', () => {
  it('writes the header and one record per event, CRLF-terminated, ids empty when null, the payload quoted', () => {
    expect(csvHeader()).toBe('id,eventId,name,occurredAt,createdAt,projectId,deploymentId,userId,payload\r\n');
    expect(csvRecord(row({ payload: { text: 'a,"b"\nc' } }))).toBe(
      '7,0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d,deployment.created,2026-11-20T10:00:00.123Z,2026-11-20T10:00:01.000Z,1,,3,' +
        '"{""text"":""a,\\""b\\""\\nc""}"\r\n',
    );
  });
});

describe('ndjsonRecord', () => {
  it('is one line holding the event as the API shows it, whatever its payload holds', () => {
    const line = ndjsonRecord(row({ payload: { text: 'two\nlines\u2028and more' } }));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(/[\n\r]/);
    expect(JSON.parse(line)).toEqual({
      id: 7,
      eventId: '0b6f3c1e-2d4a-4f5b-8c7d-9e0f1a2b3c4d',
      name: 'deployment.created',
      occurredAt: '2026-11-20T10:00:00.123Z',
      createdAt: '2026-11-20T10:00:01.000Z',
      projectId: 1,
      deploymentId: null,
      userId: 3,
      payload: { text: 'two\nlines\u2028and more' },
    });
  });
});

describe('exportFilename', () => {
  it('has no colons and says the format', () => {
    expect(exportFilename('csv', new Date('2026-11-20T10:00:00.456Z'))).toBe('events-2026-11-20T10-00-00Z.csv');
    expect(exportFilename('ndjson', new Date('2026-11-20T10:00:00Z'))).toBe('events-2026-11-20T10-00-00Z.ndjson');
  });
});
