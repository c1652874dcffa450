import { z } from 'zod';
import { integerText } from '@hosting/shared';

/** The largest value of PostgreSQL's `integer`. */
const INT4_MAX = 2_147_483_647;

/** A database id in a path or query: a positive integer that fits PostgreSQL's `integer`. */
export const positiveId = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive integer')
  .transform(Number)
  .refine((n) => n <= INT4_MAX, 'is out of range')
  .meta({ override: integerText({ minimum: 1, maximum: INT4_MAX }) });
