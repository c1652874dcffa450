import http from 'node:http';
import fc from 'fast-check';
import type { Knex } from '../db/knex.js';
import { documentOperations, type Contract } from './contract.js';

/**
 * The attack suite's machinery: every operation of a service's OpenAPI document driven with
 * generated hostile input (path ids, query strings, bodies, headers), sent as raw bytes over
 * node:http (so a doubled `Authorization`, invalid UTF-8 and non-JSON bodies really go out), and
 * each answer held to the properties of the issue:
 *
 *   - no 5xx, and a 4xx carries the contract's error body (checked by the service's contract);
 *   - a request whose credential is not one the operation takes never gets a 2xx;
 *   - a rejected request (4xx) leaves every table as it was (a digest of each table's rows).
 *
 * Seeded and bounded: `FC_SEED` (and `FC_PATH`) replay a failure, `FC_RUNS` changes the count;
 * the seed is printed when the run starts and fast-check prints it with the counterexample.
 */
type Json = Record<string, any>;

// ---------------------------------------------------------------------------------------------
// Operations, from the document
// ---------------------------------------------------------------------------------------------

export interface AttackParameter {
  name: string;
  schema: Json;
}

export interface AttackOperation {
  /** `post /projects/{id}/deployment` */
  key: string;
  method: string;
  template: string;
  pathParams: string[];
  query: AttackParameter[];
  headers: AttackParameter[];
  /** The operation documents a request body (its JSON schema, `{}` when none is given). */
  body?: { schema: Json; example?: unknown };
  /** Security scheme names any one of which admits the request; empty: the operation is open. */
  schemes: string[];
}

function resolveRef(document: Json, value: Json | undefined): Json | undefined {
  let current = value;
  for (let hops = 0; current && typeof current.$ref === 'string' && hops < 10; hops++) {
    current = current.$ref
      .slice(2)
      .split('/')
      .reduce<Json | undefined>((node, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
  }
  return current;
}

/** Every operation of an OpenAPI document, with what the attack needs to know of it. */
export function attackOperations(document: Json): AttackOperation[] {
  return [...documentOperations(document)].sort().map((key) => {
    const [method, template] = key.split(' ') as [string, string];
    const item = document.paths[template] as Json;
    const op = item[method] as Json;
    const parameters = [...((item.parameters ?? []) as Json[]), ...((op.parameters ?? []) as Json[])].map((p) => resolveRef(document, p)!);
    const byPlace = (place: string) =>
      parameters.filter((p) => p.in === place).map((p) => ({ name: p.name as string, schema: (p.schema ?? {}) as Json }));
    const requestBody = resolveRef(document, op.requestBody as Json | undefined);
    const media = requestBody?.content?.['application/json'] as Json | undefined;
    const security = (op.security ?? document.security ?? []) as Json[];
    const schemes = [...new Set(security.flatMap((requirement) => Object.keys(requirement)))];
    return {
      key,
      method,
      template,
      pathParams: (template.match(/\{([^}]+)\}/g) ?? []).map((p) => p.slice(1, -1)),
      query: byPlace('query'),
      headers: byPlace('header').filter((p) => p.name.toLowerCase() !== 'authorization'),
      ...(requestBody ? { body: { schema: resolveRef(document, media?.schema as Json) ?? {}, example: media?.example } } : {}),
      schemes: security.some((requirement) => Object.keys(requirement).length === 0) ? [] : schemes,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------------

/** Ids and other path or query values that have broken services before. */
export const HOSTILE_SCALARS: readonly string[] = [
  '-1',
  '0',
  '-0',
  '1.5',
  '1.0',
  '1e3',
  '1e309',
  '-1e309',
  '2147483647',
  '2147483648',
  '4294967296',
  '9007199254740993',
  '9223372036854775807',
  '9223372036854775808',
  '18446744073709551616',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x1F',
  '0b1',
  '0o7',
  '1_000',
  '+1',
  ' 1',
  '1 ',
  '01',
  '00',
  '\uff11\uff12',
  '\u0663',
  'true',
  'false',
  'null',
  'undefined',
  '[]',
  '{}',
  '[1]',
  'abc',
  '',
  "1' OR '1'='1",
  '1; drop table projects; --',
  "'); delete from deployments; --",
  '1)--',
  '$1',
  '?',
  "'",
  '"',
  '\\',
  '`',
  '%',
  '%00',
  '%zz',
  '\u0000',
  '\u0000abc',
  '\ud800',
  '\udfff',
  '\ufffd',
  '\u202e',
  '\u{1f600}',
  '../',
  '..',
  '.',
  '../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  '/etc/passwd',
  'C:\\Windows',
  '*',
  '#',
  '&',
  '=',
  ';',
  ',',
  ',,',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '__defineGetter__',
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  '%s%s%s%n',
  '1'.repeat(400),
  'a'.repeat(300),
];

/** Values of the kind an operation's parameter schema asks for (so filters are reached too). */
function plausible(schema: Json): fc.Arbitrary<string> {
  const items = (schema.items ?? {}) as Json;
  const enumValues = (schema.enum ?? items.enum) as unknown[] | undefined;
  if (enumValues?.length) {
    return fc.oneof(
      fc.constantFrom(...enumValues.map(String)),
      fc.uniqueArray(fc.constantFrom(...enumValues.map(String)), { minLength: 1 }).map((v) => v.join(',')),
    );
  }
  if (schema.type === 'integer' || schema.type === 'number') return fc.integer({ min: 1, max: 12 }).map(String);
  if (schema.format === 'date-time')
    return fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString());
  if (schema.format === 'date')
    return fc
      .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
  return fc.string({ maxLength: 12 });
}

/** A hostile value for a path or query parameter. */
export function hostileValue(known: fc.Arbitrary<string> = fc.constant('1')): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 5, arbitrary: known },
    { weight: 5, arbitrary: fc.constantFrom(...HOSTILE_SCALARS) },
    { weight: 2, arbitrary: fc.integer().map(String) },
    { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String) },
    { weight: 1, arbitrary: fc.double().map(String) },
    { weight: 2, arbitrary: fc.string({ maxLength: 20, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 7_000 }).map((n) => '9'.repeat(n)) },
  );
}

/** encodeURIComponent that also takes lone surrogates (sent as the UTF-8 of U+FFFD, as Buffer writes them). */
function encode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.!~*'()]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A path segment as sent: percent-encoded, or raw when node:http lets it through (bytes 0x21–0xff). */
function segment(value: string, raw: boolean): string {
  // `?` and `#` raw would address another path (the rest is query or fragment): always encoded.
  return raw && /^[\u0021-\u00ff]+$/.test(value) && !/[?#]/.test(value) ? value : encode(value);
}

const BAD_ESCAPES = ['%', '%zz', '%ED%A0%80', '%C0%AF', '%FF', '%00', '%E2%80%AE'];

interface QueryPart {
  key: string;
  value: string;
  /** 0: encoded; 1: key only (`?flag`); 2: a malformed escape appended raw. */
  form: number;
  badEscape: string;
}

function queryArb(op: AttackOperation): fc.Arbitrary<QueryPart[]> {
  const documented = op.query.map((q) => q.name);
  const key = fc.oneof(
    { weight: 6, arbitrary: documented.length ? fc.constantFrom(...documented) : fc.constant('page') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        ...documented.flatMap((k) => [`${k}[]`, `${k}[0]`, `${k}.x`, k.toUpperCase()]),
        '__proto__',
        'constructor',
        '',
        'a'.repeat(200),
        'x',
      ),
    },
  );
  const valueFor = (k: string) => {
    const param = op.query.find((q) => q.name === k);
    return hostileValue(param ? plausible(param.schema) : fc.constant('1'));
  };
  const part = key.chain((k) =>
    fc.record({
      key: fc.constant(k),
      value: valueFor(k),
      form: fc.constantFrom(0, 0, 0, 0, 0, 1, 2),
      badEscape: fc.constantFrom(...BAD_ESCAPES),
    }),
  );
  return fc.array(part, { maxLength: 5 });
}

function queryString(parts: QueryPart[]): string {
  if (parts.length === 0) return '';
  return (
    '?' +
    parts
      .map((p) =>
        p.form === 1
          ? encode(p.key)
          : p.form === 2
            ? `${encode(p.key)}=${encode(p.value)}${p.badEscape}`
            : `${encode(p.key)}=${encode(p.value)}`,
      )
      .join('&')
  );
}

// --- bodies ------------------------------------------------------------------------------------

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

function bodyArb(op: AttackOperation, knownIds: string[], limitBytes: number): fc.Arbitrary<BodyPlan | undefined> {
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

// --- credentials and headers -------------------------------------------------------------------

type AuthPlan =
  | { kind: 'valid'; value: string }
  | { kind: 'none' }
  | { kind: 'wrong'; header: string }
  | { kind: 'other-scheme'; value: string }
  | { kind: 'doubled'; values: [string, string]; bothValid: boolean };

function authArb(op: AttackOperation, credentials: Record<string, string[]>): fc.Arbitrary<AuthPlan> {
  const valid = op.schemes.flatMap((s) => credentials[s] ?? []);
  const others = Object.entries(credentials)
    .filter(([scheme]) => !op.schemes.includes(scheme))
    .flatMap(([, values]) => values)
    .filter((v) => !valid.includes(v));
  const token = fc.oneof(
    fc.string({ minLength: 1, maxLength: 64 }).filter((s) => /^[\u0021-\u007e]+$/.test(s)),
    fc.constantFrom('null', 'undefined', '0', 'a'.repeat(4_000), "' OR 1=1 --", 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.', '..', '%00'),
  );
  const malformed = fc.oneof(
    token.map((t) => `Bearer ${t}`),
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      'Bearer  ',
      'bearer',
      'Basic YWRtaW46YWRtaW4=',
      'Token abc',
      'Bearer\tabc',
      'Bearer a b',
      '',
      ' ',
      'Bearer \u00ff\u00fe',
      'Digest username="a"',
    ),
    ...(valid.length
      ? [
          fc
            .constantFrom(...valid)
            .chain((v) =>
              fc.constantFrom(
                `Basic ${v}`,
                `Bearer ${v}x`,
                `Bearer ${v.slice(0, -1)}`,
                `Bearer ${v}, Bearer ${v}`,
                `${v}`,
                `Bearer ${v} extra`,
              ),
            ),
        ]
      : []),
  );
  const plans: Array<{ weight: number; arbitrary: fc.Arbitrary<AuthPlan> }> = [
    { weight: 1, arbitrary: fc.constant<AuthPlan>({ kind: 'none' }) },
    { weight: 2, arbitrary: malformed.map((header): AuthPlan => ({ kind: 'wrong', header })) },
  ];
  if (valid.length) {
    plans.push({ weight: 14, arbitrary: fc.constantFrom(...valid).map((value): AuthPlan => ({ kind: 'valid', value })) });
    plans.push({
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom(...valid),
          fc.oneof(
            token.map((t) => `Bearer ${t}`),
            fc.constantFrom(...valid).map((v) => `Bearer ${v}`),
          ),
          fc.boolean(),
        )
        .map(([v, second, first]): AuthPlan => {
          const values: [string, string] = first ? [`Bearer ${v}`, second] : [second, `Bearer ${v}`];
          return { kind: 'doubled', values, bothValid: values.every((h) => valid.some((x) => h === `Bearer ${x}`)) };
        }),
    });
  }
  if (others.length)
    plans.push({ weight: 1, arbitrary: fc.constantFrom(...others).map((value): AuthPlan => ({ kind: 'other-scheme', value })) });
  return fc.oneof(...plans);
}

const HEADER_VALUES = [
  '',
  ' ',
  '0',
  '-1',
  '1',
  'a'.repeat(300),
  'x'.repeat(4_000),
  "' OR 1=1 --",
  '\u00ff\u00fe',
  'null',
  '1e309',
  '9'.repeat(40),
  '../../',
  'abc,def',
  '*',
];

function headersArb(op: AttackOperation): fc.Arbitrary<Array<[string, string]>> {
  const names = [
    ...op.headers.map((h) => h.name),
    'X-Request-Id',
    'Accept',
    'Accept-Encoding',
    'Content-Encoding',
    'If-None-Match',
    'Origin',
    'X-Forwarded-For',
    'X-Forwarded-Host',
    'X-Forwarded-Proto',
    'Host',
  ];
  const value = (name: string) =>
    fc.oneof(
      fc.constantFrom(...HEADER_VALUES),
      fc.string({ maxLength: 40 }).filter((s) => /^[\u0020-\u007e]*$/.test(s)),
      ...(name === 'Accept'
        ? [fc.constantFrom('application/problem+json', 'text/html', '*/*', 'application/xml', 'text/event-stream')]
        : []),
      ...(name === 'Content-Encoding' ? [fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'gzip, gzip')] : []),
      ...(name === 'X-Forwarded-Proto' ? [fc.constantFrom('https', 'http', 'ftp', 'javascript')] : []),
      ...(name === 'Host' ? [fc.constantFrom('evil.example', 'localhost:99999', '[::1]', 'a b', '')] : []),
    );
  const one = fc.constantFrom(...names).chain((name) => value(name).map((v): [string, string] => [name, v]));
  return fc.array(one, { maxLength: 3 });
}

// ---------------------------------------------------------------------------------------------
// A request, and sending it
// ---------------------------------------------------------------------------------------------

export interface AttackRequest {
  operation: string;
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  /** What kind of hostility, for the report of a failure. */
  auth: AuthPlan['kind'];
  /** The request carries a credential the operation takes (so a 2xx is allowed). */
  authorised: boolean;
  /** The document has this method at this path (else any answer must be a 4xx error body). */
  documented: boolean;
  bodyKind?: string;
}

export interface AttackTarget {
  document: Json;
  /** Valid credentials per security scheme of the document: `{ admin: [token], webhook: [appSecret…] }`. */
  credentials: Record<string, string[]>;
  /** Ids that exist (the rows the test made), so some requests get past the lookups. */
  knownIds: string[];
  /** The largest body an operation takes (bodies around it are generated). Default 16 kB. */
  bodyLimitBytes?: number;
  /** Operations not to attack, e.g. `get /docs/assets/{file}`. */
  skip?: string[];
}

/** Hostile requests for every operation of the target's document. */
export function attackRequests(target: AttackTarget): fc.Arbitrary<AttackRequest> {
  const all = attackOperations(target.document);
  const keys = new Set(all.map((op) => op.key));
  const operations = all.filter((op) => !target.skip?.includes(op.key));
  const known = fc.constantFrom(...(target.knownIds.length ? target.knownIds : ['1']));
  return fc.constantFrom(...operations).chain((op) =>
    fc
      .record({
        params: fc.tuple(...op.pathParams.map(() => fc.tuple(hostileValue(known), fc.boolean()))),
        query: queryArb(op),
        auth: authArb(op, target.credentials),
        headers: headersArb(op),
        body: bodyArb(op, target.knownIds, target.bodyLimitBytes ?? 16 * 1024),
        method: fc.oneof(
          { weight: 20, arbitrary: fc.constant(op.method.toUpperCase()) },
          { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'POST', 'GET') },
        ),
      })
      .map(({ params, query, auth, headers, body, method }): AttackRequest => {
        let i = 0;
        const path =
          op.template.replace(/\{[^}]+\}/g, () => {
            const [value, raw] = params[i++]!;
            return segment(value, raw);
          }) + queryString(query);
        const all: Array<[string, string]> = [];
        if (auth.kind === 'valid' || auth.kind === 'other-scheme') all.push(['Authorization', `Bearer ${auth.value}`]);
        if (auth.kind === 'wrong') all.push(['Authorization', auth.header]);
        if (auth.kind === 'doubled') all.push(['Authorization', auth.values[0]], ['Authorization', auth.values[1]]);
        all.push(...headers);
        if (body?.contentType) all.push(['Content-Type', body.contentType]);
        const authorised = op.schemes.length === 0 || auth.kind === 'valid' || (auth.kind === 'doubled' && auth.bothValid);
        const request: AttackRequest = {
          operation: op.key,
          method,
          path,
          headers: all,
          ...(body
            ? { body: Buffer.from(typeof body.text === 'string' ? body.text : Uint8Array.from(body.text)), bodyKind: body.kind }
            : {}),
          auth: auth.kind,
          authorised,
          documented: keys.has(`${method.toLowerCase()} ${op.template}`),
        };
        // A request head over Node's 16 kB (--max-http-header-size) is refused by Node's parser
        // with a bare 431 before the app sees it: not the app's answer, so not generated.
        if (path.length + all.reduce((n, [k, v]) => n + k.length + v.length + 4, 0) > 12_000) request.path = request.path.split('?')[0]!;
        // fast-check prints a counterexample with this: short, and readable (not a Buffer's bytes).
        Object.defineProperty(request, fc.toStringMethod, { value: () => describeRequest(request), enumerable: false });
        return request;
      }),
  );
}

export interface AttackResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  contentType?: string;
  text: string;
  /** The parsed body when it is JSON. */
  body: unknown;
}

/**
 * Sends a request as written: headers in order and repeated as given, the body as bytes. A
 * `text/event-stream` answer is cut once its headers are in (a stream never ends by itself).
 */
export function sendRaw(
  baseUrl: string,
  request: Pick<AttackRequest, 'method' | 'path' | 'headers' | 'body'>,
  options: { agent?: http.Agent; timeoutMs?: number } = {},
): Promise<AttackResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const grouped = new Map<string, { name: string; values: string[] }>();
    for (const [name, value] of request.headers) {
      const entry = grouped.get(name.toLowerCase()) ?? { name, values: [] };
      entry.values.push(value);
      grouped.set(name.toLowerCase(), entry);
    }
    let req: http.ClientRequest;
    try {
      req = http.request({
        host: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        agent: options.agent ?? false,
        setHost: !grouped.has('host'),
      });
      for (const { name, values } of grouped.values()) req.setHeader(name, values.length === 1 ? values[0]! : values);
      // node:http sends a GET's body with neither Content-Length nor chunking: the server would read it as the next request.
      if (request.body && !grouped.has('content-length')) req.setHeader('Content-Length', request.body.length);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 10_000} ms`)),
      options.timeoutMs ?? 10_000,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const contentType = res.headers['content-type'];
      const streaming = /text\/event-stream/i.test(contentType ?? '');
      const finish = () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        if (/^application\/(.+\+)?json\b/i.test(contentType ?? '') && text) {
          try {
            body = JSON.parse(text);
          } catch {
            body = { unparseable: text.slice(0, 200) };
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, contentType, text, body });
      };
      if (streaming) {
        // The status and headers are the answer; the stream itself never ends.
        res.destroy();
        finish();
        return;
      }
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', finish);
    });
    req.end(request.body);
  });
}

// ---------------------------------------------------------------------------------------------
// Database digests
// ---------------------------------------------------------------------------------------------

/**
 * A digest of every table's rows (md5 over the rows' text in order), in one statement: a
 * rejected request must leave each the same. `exclude` names tables that change by design
 * whatever the requests do (a purged change log).
 */
export async function tableDigests(db: Knex, exclude: string[] = []): Promise<Record<string, string>> {
  const { rows: tables } = await db.raw<{ rows: Array<{ tablename: string }> }>(
    `select tablename from pg_tables where schemaname = current_schema() and tablename not like 'knex_migrations%' order by tablename`,
  );
  const names = tables.map((t) => t.tablename).filter((t) => !exclude.includes(t));
  if (names.length === 0) return {};
  const sql = names
    .map(() => `select ?::text as t, md5(coalesce(string_agg(x::text, ',' order by x::text), '')) as h from ?? as x`)
    .join(' union all ');
  const { rows } = await db.raw<{ rows: Array<{ t: string; h: string }> }>(
    sql,
    names.flatMap((n) => [n, n]),
  );
  return Object.fromEntries(rows.map((r) => [r.t, r.h]));
}

// ---------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------

/** Throws unless `body` is the contract's error body for `status`. */
export function assertProblem(status: number, body: unknown): void {
  const b = body as Json | null;
  const ok =
    b !== null &&
    typeof b === 'object' &&
    !Array.isArray(b) &&
    typeof b.name === 'string' &&
    b.name.length > 0 &&
    typeof b.message === 'string' &&
    b.message.length > 0 &&
    typeof b.type === 'string' &&
    typeof b.title === 'string' &&
    typeof b.detail === 'string' &&
    b.status === status;
  if (!ok) throw new Error(`${status}: not the contract's error body: ${JSON.stringify(body)?.slice(0, 300)}`);
}

export interface AttackOptions extends AttackTarget {
  /** The service, listening: `http://127.0.0.1:<port>`. */
  baseUrl: string;
  /** Each answer is checked against it (the service's own document, strictly, and any other). */
  contract: Contract;
  /** The service's database, for the digests. */
  db: Knex;
  /** Tables that change by design whatever the requests (see tableDigests). */
  excludeTables?: string[];
  /** A name for the log line with the seed. */
  label: string;
  numRuns?: number;
  timeLimitMs?: number;
  /** Called with every request and answer (for tests that scan them). */
  onResponse?: (request: AttackRequest, response: AttackResponse) => void;
}

export interface AttackReport {
  seed: number;
  runs: number;
  /** Answers per status. */
  statuses: Record<number, number>;
  /** Answers per operation and status class, e.g. `{ 'get /projects/{id}': { '2xx': 3, '4xx': 40 } }`. */
  operations: Record<string, Record<string, number>>;
}

/** Checks one answer against the properties; throws with the reason. */
async function checkAnswer(
  options: AttackOptions,
  request: AttackRequest,
  response: AttackResponse,
  before: Record<string, string>,
): Promise<void> {
  const { status } = response;
  if (status >= 500 || status < 200) throw new Error(`status ${status}: ${response.text.slice(0, 300)}`);
  if (status >= 400) assertProblem(status, response.body);
  // The router matches `/projects/` as `/projects` (an empty id makes one): the contract knows the latter.
  const [pathname, query] = request.path.split('#')[0]!.split(/\?(.*)/s) as [string, string | undefined];
  const path = (pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname) + (query !== undefined ? `?${query}` : '');
  // The contract knows documented methods; another method's answer must be an error (its body is checked above).
  if (!request.documented && status < 400)
    throw new Error(`${request.method} is not documented at ${request.operation.split(' ')[1]}, yet it got ${status}`);
  if (request.documented)
    options.contract.check(request.method.toLowerCase(), path, status, response.body, response.contentType, response.headers);
  if (!request.authorised && status < 400)
    throw new Error(`a request without a credential this operation takes (${request.auth}) got ${status}`);
  if (status >= 400) {
    const after = await tableDigests(options.db, options.excludeTables);
    const changed = Object.keys({ ...before, ...after }).filter((t) => before[t] !== after[t]);
    if (changed.length) throw new Error(`rejected with ${status}, yet the table(s) ${changed.join(', ')} changed`);
  }
}

/** A readable account of a request, for the failure report. */
export function describeRequest(r: AttackRequest): string {
  const body = r.body ? ` body(${r.bodyKind}, ${r.body.length} B): ${JSON.stringify(r.body.toString('latin1').slice(0, 200))}` : '';
  return `${r.method} ${r.path.slice(0, 300)} [${r.operation}, auth ${r.auth}] headers ${JSON.stringify(r.headers.map(([k, v]) => [k, v.slice(0, 80)]))}${body}`;
}

/**
 * Runs the attack: `numRuns` generated requests (default 400, or `FC_RUNS`), stopping early
 * after `timeLimitMs` (default 20 s), each checked against the properties above. Throws with
 * fast-check's report (seed, path, the shrunk request) on the first violation.
 */
export async function runAttack(options: AttackOptions): Promise<AttackReport> {
  const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : Date.now() ^ (Math.random() * 0x7fffffff);
  const path = process.env.FC_PATH;
  const numRuns = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : (options.numRuns ?? 400);
  // One line, so that a run in CI can be replayed: FC_SEED=<seed> (FC_PATH=<path> from a failure report).
  process.stdout.write(
    `[attack ${options.label}] seed ${seed}${path ? ` path ${path}` : ''}, ${numRuns} runs; replay with FC_SEED=${seed}\n`,
  );
  const report: AttackReport = { seed, runs: 0, statuses: {}, operations: {} };
  await fc.assert(
    fc.asyncProperty(attackRequests(options), async (request) => {
      const before = await tableDigests(options.db, options.excludeTables);
      let response: AttackResponse;
      try {
        // A connection per request: a socket the server closed after refusing an unread body would
        // otherwise be reused, and its reset would look like the service's.
        response = await sendRaw(options.baseUrl, request);
      } catch (err) {
        throw new Error(`no answer (${(err as Error).message}) to ${describeRequest(request)}`);
      }
      report.runs++;
      report.statuses[response.status] = (report.statuses[response.status] ?? 0) + 1;
      const byOp = (report.operations[request.operation] ??= {});
      const cls = `${String(response.status)[0]}xx`;
      byOp[cls] = (byOp[cls] ?? 0) + 1;
      options.onResponse?.(request, response);
      try {
        await checkAnswer(options, request, response, before);
      } catch (err) {
        throw new Error(
          `${(err as Error).message}\n  request: ${describeRequest(request)}\n  answer: ${response.status} ${response.text.slice(0, 400)}`,
        );
      }
    }),
    {
      seed,
      ...(path ? { path } : {}),
      numRuns,
      interruptAfterTimeLimit: options.timeLimitMs ?? 20_000,
      markInterruptAsFailure: false,
      endOnFailure: !!process.env.FC_NO_SHRINK,
      includeErrorInReport: true,
    },
  );
  process.stdout.write(`[attack ${options.label}] ${report.runs} requests, statuses ${JSON.stringify(report.statuses)}\n`);
  return report;
}

// ---------------------------------------------------------------------------------------------
// Mass assignment
// ---------------------------------------------------------------------------------------------

/** A value a client might try for each protected field (any value must be refused). */
const PROTECTED_VALUES: Record<string, unknown> = {
  id: 999_999,
  status: 'done',
  url: 'https://evil.example',
  app_secret: 'chosen-by-client',
  appSecret: 'chosen-by-client',
  app_secret_sha256: '00',
  secret: 'chosen-by-client',
  userId: 1,
  user_id: 1,
  projectId: 1,
  project_id: 1,
  deploymentId: 1,
  createdAt: '2000-01-01T00:00:00.000Z',
  created_at: '2000-01-01T00:00:00.000Z',
  updatedAt: '2000-01-01T00:00:00.000Z',
  updated_at: '2000-01-01T00:00:00.000Z',
  deployedIn: 0,
  deployed_in: 0,
  hasLiveDeployment: true,
  role: 'admin',
  isAdmin: true,
};

/** The top-level fields a request body schema declares (through `$ref`, `oneOf`/`anyOf`/`allOf` and array items). */
export function declaredBodyFields(document: Json, schema: Json | undefined): Set<string> {
  const found = new Set<string>();
  const stack: Json[] = schema ? [schema] : [];
  for (let guard = 0; stack.length > 0 && guard < 100; guard++) {
    const s = resolveRef(document, stack.pop());
    if (!s) continue;
    for (const key of Object.keys((s.properties ?? {}) as Json)) found.add(key);
    for (const branch of [...((s.oneOf ?? []) as Json[]), ...((s.anyOf ?? []) as Json[]), ...((s.allOf ?? []) as Json[])])
      stack.push(branch);
    if (s.items) stack.push(s.items as Json);
  }
  return found;
}

export interface MassAssignmentCase {
  operation: AttackOperation;
  field: string;
  /** The raw JSON text of `{ ...base, [field]: value }`, with `__proto__` kept as an own key. */
  bodyText(base: unknown): string;
}

/**
 * For every operation of the document that takes a body: each protected field (PROTECTED_FIELDS,
 * plus `__proto__` and `constructor`) the body schema does not declare. Sending it must be a 400
 * naming the field, and write nothing.
 */
export function massAssignmentCases(document: Json): MassAssignmentCase[] {
  const cases: MassAssignmentCase[] = [];
  for (const operation of attackOperations(document)) {
    if (!operation.body) continue;
    const declared = declaredBodyFields(document, operation.body.schema);
    for (const field of [...PROTECTED_FIELDS, '__proto__', 'constructor']) {
      if (declared.has(field)) continue;
      const value = field === '__proto__' || field === 'constructor' ? { status: 'done', isAdmin: true } : (PROTECTED_VALUES[field] ?? 'x');
      cases.push({
        operation,
        field,
        bodyText: (base) => {
          const text = JSON.stringify(base ?? {});
          const extra = `${JSON.stringify(field)}:${JSON.stringify(value)}`;
          return text === '{}' ? `{${extra}}` : `{${extra},${text.slice(1)}`;
        },
      });
    }
  }
  return cases;
}
