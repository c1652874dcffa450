import type { Env } from '../config.js';

/**
 * Settings a test names, as an environment: numbers and booleans as their text, lists joined with
 * commas, so that the service's own schema parses them (and supplies every default) exactly as it
 * parses the real environment.
 */
export function envOf(settings: Readonly<Record<string, unknown>>): Env {
  return Object.fromEntries(
    Object.entries(settings)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
  );
}
