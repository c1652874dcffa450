import fc from 'fast-check';
import type { AttackOperation } from './document.js';

// Hostile credentials (missing, wrong, doubled, another scheme's) and headers.

export type AuthPlan =
  | { kind: 'valid'; value: string }
  | { kind: 'none' }
  | { kind: 'wrong'; header: string }
  | { kind: 'other-scheme'; value: string }
  | { kind: 'doubled'; values: [string, string]; bothValid: boolean };

export function authArb(op: AttackOperation, credentials: Record<string, string[]>): fc.Arbitrary<AuthPlan> {
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

export function headersArb(op: AttackOperation): fc.Arbitrary<Array<[string, string]>> {
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
