import type { z } from 'zod';
import { ValidationError, type FieldIssue } from '../errors.js';

/** Parses `input` with `schema`, or throws a 400 naming every field that is wrong (under `where`). */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, where: string): z.infer<S> {
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
