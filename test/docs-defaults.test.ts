import { isDeepStrictEqual } from 'node:util';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { aggregatorConfigSchema } from '@hosting/aggregator-service';
import { projectConfigSchema } from '@hosting/project-service';
import { localStateEnv, SERVICE_NODE_OPTIONS } from '@hosting/shared';
import { clusterEnv } from '../scripts/cluster-config.js';

/**
 * One place for each default: the config schemas. README's configuration table and .env.example
 * restate them for people, so this test holds both to the schemas: every variable a schema reads
 * is in both, and every default they state is the schema's. Values are compared after parsing
 * through the variable's own schema (`300000` and `300,000` are the same; `false` for TRUST_PROXY
 * is its 0), so only a real difference fails.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

type Field = z.ZodType;
const SCHEMAS: Array<[string, z.ZodObject]> = [
  ['project-service/src/config.ts', projectConfigSchema],
  ['aggregator-service/src/config.ts', aggregatorConfigSchema],
  ['shared/src/config.ts', localStateEnv],
  ['scripts/cluster-config.ts', clusterEnv],
];

/** variable → every schema field that reads it (LOG_LEVEL is read by both services). */
const fields = new Map<string, Array<{ file: string; field: Field }>>();
for (const [file, schema] of SCHEMAS) {
  for (const [name, field] of Object.entries(schema.shape))
    fields.set(name, [...(fields.get(name) ?? []), { file, field: field as Field }]);
}

const NONE = Symbol('no default');
/** The value the code uses when the variable is unset, through the schema's public parse; NONE when it has none (or it is empty). */
function defaultOf(field: Field): unknown {
  const result = field.safeParse(undefined);
  return !result.success || result.data === undefined || result.data === '' ? NONE : result.data;
}
/** A stated value as the code would read it, or a marker that it does not parse. */
function parsedAs(field: Field, text: string): unknown {
  const result = field.safeParse(/^\d{1,3}(,\d{3})+$/.test(text) ? text.replaceAll(',', '') : text);
  return result.success ? result.data : Symbol(`unparsable ${text}`);
}
/** Words README uses for "no fixed default": the value is generated, embedded, derived (`<…>`) or absent. */
const NO_DEFAULT_TEXT = /^(none|generated|embedded)\b|</;

/** README's configuration table: variable → the default cell's text for it. */
function readmeDefaults(): Map<string, string> {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
  const table = new Map<string, string>();
  for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
    const [, variables = '', defaults = ''] = line.split('|');
    const names = [...variables.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!);
    const values = defaults.split(' / ').map((v) => v.trim().replace(/^`(.*)`$/, '$1'));
    names.forEach((name, i) => table.set(name, values.length === names.length ? values[i]! : values.join(' / ')));
  }
  return table;
}

/** .env.example: variable → its value and whether the line is commented out (inline comments removed). */
function envExample(): Map<string, { value: string; commented: boolean }> {
  const lines = readFileSync(path.join(root, '.env.example'), 'utf8').split('\n');
  const entries = new Map<string, { value: string; commented: boolean }>();
  for (const line of lines) {
    const m = /^(#\s*)?([A-Z][A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) entries.set(m[2]!, { value: m[3]!.replace(/(^|\s+)#.*$/, '').trim(), commented: m[1] !== undefined });
  }
  return entries;
}

const show = (v: unknown) => (v === NONE ? 'no default' : JSON.stringify(v));

describe("README and .env.example state the config schemas' defaults", () => {
  it('the services agree on the variables they both read', () => {
    const problems = [...fields].flatMap(([name, readers]) =>
      readers
        .slice(1)
        .filter((r) => !isDeepStrictEqual(defaultOf(r.field), defaultOf(readers[0]!.field)))
        .map((r) => `${name}: ${show(defaultOf(readers[0]!.field))} in ${readers[0]!.file}, ${show(defaultOf(r.field))} in ${r.file}`),
    );
    expect(problems).toEqual([]);
  });

  it("README's configuration table lists every variable with the schema's default", () => {
    const table = readmeDefaults();
    const problems: string[] = [];
    for (const [name, [{ file, field }]] of fields as Map<string, [{ file: string; field: Field }]>) {
      const stated = table.get(name);
      const expected = defaultOf(field);
      if (stated === undefined) problems.push(`${name} (read by ${file}) is missing from README's configuration table`);
      else if (expected === NONE) {
        if (!NO_DEFAULT_TEXT.test(stated)) problems.push(`${name}: README says the default is "${stated}", ${file} has none`);
      } else if (!isDeepStrictEqual(parsedAs(field, stated), expected)) {
        problems.push(`${name}: README says the default is "${stated}", ${file} says ${show(expected)}`);
      }
    }
    // Read outside the schemas: the service processes' V8 flags.
    if (table.get('NODE_OPTIONS') !== SERVICE_NODE_OPTIONS)
      problems.push(`NODE_OPTIONS: README says "${table.get('NODE_OPTIONS')}", SERVICE_NODE_OPTIONS is "${SERVICE_NODE_OPTIONS}"`);
    expect(problems).toEqual([]);
  });

  it("README's prose states the same defaults where it names one: `RATE_LIMIT_PER_CREDENTIAL` (300,000), `REQUEST_TIMEOUT_MS` (4 s)", () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const problems: string[] = [];
    const mentions = [...readme.matchAll(/`([A-Z][A-Z0-9_]+)` \((\d[\d,]*)( s)?\)/g)];
    for (const [text, name, number, seconds] of mentions) {
      const readers = fields.get(name!);
      if (!readers) continue;
      const value = Number(number!.replaceAll(',', '')) * (seconds && name!.endsWith('_MS') ? 1000 : 1);
      const expected = defaultOf(readers[0]!.field);
      if (value !== expected) problems.push(`${name}: README says ${text}, ${readers[0]!.file} says ${show(expected)}`);
    }
    expect(mentions.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it("README's Limits table gives each setting it names its default in parentheses somewhere (which the test above then compares)", () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const start = readme.indexOf('\n## Limits');
    const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
    const problems: string[] = [];
    const named = new Set<string>();
    for (const row of section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| ---')))
      for (const [, name] of (row.split('|')[2] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)) named.add(name!);
    for (const name of named)
      if (fields.has(name) && defaultOf(fields.get(name)![0]!.field) !== NONE && !section.includes(`\`${name}\` (`))
        problems.push(`${name}: the Limits table names it but never gives its default as "\`${name}\` (value)"`);
    expect(section.length).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it('.env.example lists every variable; what it sets, and what it shows commented out, is the default', () => {
    const env = envExample();
    const problems: string[] = [];
    for (const [name, [{ file, field }]] of fields as Map<string, [{ file: string; field: Field }]>) {
      const line = env.get(name);
      const expected = defaultOf(field);
      if (line === undefined) problems.push(`${name} (read by ${file}) is missing from .env.example`);
      else if (!line.commented && expected === NONE)
        problems.push(`${name}=${line.value} is set in .env.example, but ${file} has no default: leave it commented out`);
      else if (expected !== NONE && line.value !== '' && !isDeepStrictEqual(parsedAs(field, line.value), expected)) {
        problems.push(`${name}: .env.example says ${line.value}, ${file} says ${show(expected)}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
