import fc from 'fast-check';
import type { AttackOperation, Json } from './document.js';

// Hostile values for path segments and query strings.

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
export function segment(value: string, raw: boolean): string {
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

export function queryArb(op: AttackOperation): fc.Arbitrary<QueryPart[]> {
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

export function queryString(parts: QueryPart[]): string {
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
