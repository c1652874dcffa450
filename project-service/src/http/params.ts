import { z } from 'zod';

/** A database id in a path or query: a positive integer that fits PostgreSQL's `integer`. */
export const positiveId = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive integer')
  .transform(Number)
  .refine((n) => n <= 2_147_483_647, 'is out of range');

export const idParams = z.object({ id: positiveId });
