import type { z } from 'zod';
import { ValidationError, type FieldIssue } from '../errors.js';

/**
 * Text PostgreSQL cannot take: U+0000 (not in `text`, not in `jsonb`) and an unpaired surrogate
 * (not in `jsonb`). A schema that lets any string through would hand either to a query, and the
 * database's refusal would be a 500 (the attack suite found `GET /events?name=%00`).
 */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly the character this pattern exists to find
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_MESSAGE = 'must not contain U+0000 or an unpaired surrogate';
/** At most this many such issues are named. */
const MAX_TEXT_ISSUES = 20;

/** Every string (value or key) of `input` that PostgreSQL cannot take, by path; iterative, so any depth is fine. */
export function unstorableText(input: unknown, where: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const stack: Array<[unknown, string]> = [[input, where]];
  while (stack.length > 0 && issues.length < MAX_TEXT_ISSUES) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      if (UNSTORABLE.test(value)) issues.push({ path, message: UNSTORABLE_MESSAGE });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push([item, `${path}.${i}`]));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (UNSTORABLE.test(key)) issues.push({ path: `${path}.${key}`, message: `names a field that ${UNSTORABLE_MESSAGE}` });
        stack.push([item, `${path}.${key}`]);
      }
    }
  }
  return issues.slice(0, MAX_TEXT_ISSUES);
}

/**
 * Parses `input` with `schema`, or throws a 400 naming every field that is wrong (under `where`).
 * Text the database cannot hold is refused first, whatever the schema says of it.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, where: string): z.infer<S> {
  const text = unstorableText(input, where);
  if (text.length > 0) throw new ValidationError(`Invalid ${text[0]!.path}: ${text[0]!.message}`, text);
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues: FieldIssue[] = result.error.issues.flatMap((issue) =>
    // zod reports unknown keys once, at the object; we name each key, as a field of its own.
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [where, ...issue.path.map(String), key].join('.'), message: 'is not a field of this request' }))
      : [{ path: [where, ...issue.path.map(String)].join('.'), message: issue.message }],
  );
  const first = issues[0];
  throw new ValidationError(first ? `Invalid ${first.path}: ${first.message}` : `Invalid ${where}`, issues);
}
