import type { z } from 'zod';
import { ValidationError, type FieldIssue } from '../errors.js';

/** Parses `input` with `schema`, or throws a 400 naming every field that is wrong (under `where`). */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues: FieldIssue[] = result.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const first = issues[0];
  throw new ValidationError(first ? `Invalid ${first.path}: ${first.message}` : `Invalid ${where}`, issues);
}
