import fc from 'fast-check';
import type { AttackOperation, Json } from './document.js';
import { HOSTILE_SCALARS } from './values.js';

// Hostile request bodies: JSON the schema may refuse, non-JSON, wrong content types, sizes around the limit.

/** Fields no client may set through any route (mass assignment). */
export const PROTECTED_FIELDS: readonly string[] = [
  'id',
  'status',
  'url',
  'app_secret',
  'appSecret',
  'app_secret_sha256',
  'secret',
  'userId',
  'user_id',
  'projectId',
  'project_id',
  'deploymentId',
  'createdAt',
  'created_at',
  'updatedAt',
  'updated_at',
  'deployedIn',
  'deployed_in',
  'hasLiveDeployment',
  'role',
  'isAdmin',
];

/** A JSON value that the schema may or may not allow. */
function hostileJson(): fc.Arbitrary<unknown> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom<unknown>(
        null,
        true,
        false,
        0,
        -1,
        1,
        1.5,
        2147483648,
        2 ** 53, // the first integer a double cannot tell from its successor
        -0,
        '',
        '0',
        '1',
        'done',
        'building',
        '\u0000',
        '\ud800',
        'x'.repeat(5000),
        [],
        {},
        [1],
        { id: 1 },
      ),
    },
    { weight: 2, arbitrary: fc.constantFrom<unknown>(...HOSTILE_SCALARS) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  );
}

/** The body an operation documents, as a starting point: its example, or an object built from its schema. */
function baseBody(op: AttackOperation, knownIds: string[]): unknown {
  const body = op.body!;
  if (body.example !== undefined) return structuredClone(body.example);
  const schema = body.schema;
  if (schema.type === 'object' && schema.properties) {
    const out: Json = {};
    for (const [k, s] of Object.entries(schema.properties as Json)) {
      const p = s as Json;
      out[k] = p.type === 'integer' ? Number(knownIds[0] ?? 1) : p.enum ? p.enum[0] : p.type === 'boolean' ? true : 'x';
    }
    return out;
  }
  return {};
}

interface BodyPlan {
  kind: string;
  text: string | number[];
  contentType?: string;
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json, text/plain',
  'application/json;;',
  '',
  'json',
  '*/*',
];

const NON_JSON = [
  'not json',
  '{',
  '{"a":1',
  "{'a':1}",
  'NaN',
  '[1,]',
  '{"a":1,}',
  'null',
  '1e309',
  '"\\u0000"',
  '"\\ud800"',
  '<x/>',
  'a=1&b=2',
  '\ufeff{}',
  '[]',
  '""',
  '0',
  'true',
  '\u0000',
];

/** The escapes JSON allows and PostgreSQL text and jsonb refuse. */
const UNSTORABLE = ['\\u0000', '\\ud800', '\\udfff', 'a\\u0000b', '\\udbff\\u0041'];

export function bodyArb(op: AttackOperation, knownIds: string[], limitBytes: number): fc.Arbitrary<BodyPlan | undefined> {
  const json =
    (kind: string, contentType = 'application/json') =>
    (text: string): BodyPlan => ({ kind, text, contentType });
  const base = op.body ? baseBody(op, knownIds) : {};
  const isObject = base !== null && typeof base === 'object' && !Array.isArray(base);
  const fields = isObject ? Object.keys(base) : [];
  // The documented body with some fields changed, removed or added.
  const mutated = fc
    .record({
      set: fc.array(
        fc.tuple(
          fc.oneof(
            fields.length ? fc.constantFrom(...fields) : fc.constant('id'),
            fc.constantFrom(...PROTECTED_FIELDS),
            fc.string({ maxLength: 8 }),
          ),
          hostileJson(),
        ),
        { maxLength: 3 },
      ),
      drop: fc.subarray(fields),
      proto: fc.constantFrom(
        '',
        '',
        '',
        '"__proto__":{"isAdmin":true,"status":"done"},',
        '"constructor":{"prototype":{"isAdmin":true}},',
        '"__proto__":null,',
      ),
    })
    .map(({ set, drop, proto }) => {
      const target: Json = isObject ? { ...(base as Json) } : {};
      for (const k of drop) delete target[k];
      for (const [k, v] of set) target[k] = v;
      const text = JSON.stringify(isObject ? target : base);
      return json('mutated')(proto && text.startsWith('{') ? `{${proto}${text.slice(1)}` : text);
    });
  const deep = fc
    .record({ depth: fc.constantFrom(64, 1_000, 5_000, Math.floor(limitBytes / 2) - 10), open: fc.constantFrom('[', '{"a":') })
    .map(({ depth, open }) =>
      json('deep')(
        open === '['
          ? '['.repeat(depth) + ']'.repeat(depth)
          : '{"a":'.repeat(Math.floor(depth / 5)) + '1' + '}'.repeat(Math.floor(depth / 5)),
      ),
    );
  const huge = fc
    .record({
      size: fc.constantFrom(limitBytes - 64, limitBytes + 1, 4 * limitBytes),
      field: fields.length ? fc.constantFrom(...fields) : fc.constant('x'),
    })
    .map(({ size, field }) =>
      json('huge')(JSON.stringify({ ...(isObject ? (base as Json) : {}), [field]: 'x'.repeat(Math.max(1, size)) })),
    );
  const invalidUtf8 = fc
    .record({
      bytes: fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]),
      field: fields.length ? fc.constantFrom(...fields) : fc.constant('x'),
    })
    .map(({ bytes, field }) => {
      const text = JSON.stringify({ ...(isObject ? (base as Json) : {}), [field]: '@@' });
      const [before, after] = text.split('@@') as [string, string];
      return { kind: 'invalid-utf8', text: [...Buffer.from(before), ...bytes, ...Buffer.from(after)], contentType: 'application/json' };
    });
  const unstorable = fc
    .record({
      escape: fc.constantFrom(...UNSTORABLE),
      field: fields.length ? fc.constantFrom(...fields) : fc.constant('x'),
      inKey: fc.boolean(),
    })
    .map(({ escape, field, inKey }) => {
      const text = JSON.stringify({ ...(isObject ? (base as Json) : {}), [inKey ? '@@k' : field]: inKey ? 1 : '@@v' });
      return json('unstorable')(text.replace('@@k', escape).replace('@@v', escape));
    });
  const other = fc.constantFrom(...NON_JSON).map(json('non-json'));
  const anyJson = fc.jsonValue({ maxDepth: 3 }).map((v) => json('any-json')(JSON.stringify(v)));
  const plan = fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 2, arbitrary: anyJson },
    { weight: 2, arbitrary: other },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: huge },
    { weight: 1, arbitrary: invalidUtf8 },
    { weight: 2, arbitrary: unstorable },
  );
  const withType = fc
    .tuple(plan, fc.option(fc.constantFrom(...CONTENT_TYPES), { freq: 4 }))
    .map(([p, type]) => (type === null ? p : { ...p, contentType: type || undefined }));
  if (op.body)
    return fc.oneof(
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constant({ kind: 'valid', text: JSON.stringify(base), contentType: 'application/json' }) },
      { weight: 8, arbitrary: withType },
    );
  // Operations without a body get one now and then: it must be ignored or refused, never a 500.
  return fc.option(withType, { freq: 6 }).map((b) => b ?? undefined);
}
