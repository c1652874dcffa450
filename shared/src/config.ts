import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import dotenv from 'dotenv';
import { z } from 'zod';

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads `.env` (if any) into process.env without overriding what is set. Entry points only. */
export function loadDotenv(): void {
  dotenv.config({ quiet: true });
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A parsed config: every key present in the type, an unset optional one as `undefined`. A caller
 * building one (a test) must name each setting or take it from the schema's defaults, so nothing
 * downstream can fall back to a default of its own.
 */
export type Explicit<T> = { readonly [K in keyof Required<T>]: T[K] };

/** Parses the environment with `schema`, failing once with every problem listed. Empty strings count as unset. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Env): Explicit<z.infer<S>> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const key = i.path.join('.');
        // The value given, when it cannot be a secret or hold one (a URL may carry a password).
        const value = key && !/TOKEN|SECRET|PASSWORD|URL/.test(key) ? cleaned[key] : undefined;
        return `${key || '(env)'}${value === undefined ? '' : `=${value}`}: ${i.message}`;
      }),
    );
  }
  return Object.freeze(result.data) as Explicit<z.infer<S>>;
}

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
export const nodeEnv = z.enum(['development', 'production', 'test']).default('development');

/**
 * The variables read here rather than by a service's schema: where local state lives (tokens and
 * the embedded database) and the embedded PostgreSQL. The docs-defaults test holds README and
 * .env.example to these defaults, as to the services' schemas.
 */
export const localStateEnv = z.object({
  DATA_DIR: z.string().default('.data'),
  EMBEDDED_PG_PORT: port(54329),
  /** Default: `<DATA_DIR>/postgres`. */
  EMBEDDED_PG_DATA_DIR: z.string().optional(),
});

/** Where local state lives when nothing else is configured: tokens and the embedded database. */
export function dataDir(env: Env): string {
  return path.resolve(localStateEnv.shape.DATA_DIR.parse(env.DATA_DIR || undefined));
}

/** Settings of the embedded PostgreSQL used when a service has no database URL. */
export function embeddedDbSettings(env: Env): { dataDir: string; port: number } {
  const parsed = parseEnv(localStateEnv.pick({ EMBEDDED_PG_PORT: true }), { EMBEDDED_PG_PORT: env.EMBEDDED_PG_PORT });
  return {
    dataDir: path.resolve(env.EMBEDDED_PG_DATA_DIR || path.join(dataDir(env), 'postgres')),
    port: parsed.EMBEDDED_PG_PORT,
  };
}

/**
 * A secret the environment should give. Outside production, a missing one is generated once and
 * kept in `<data dir>/secrets.json`, so restarts keep it; in production a missing one is fatal.
 */
export function resolveSecret(name: string, env: Env): { value: string; generated: boolean } {
  const given = env[name];
  if (given) return { value: given, generated: false };
  if (env.NODE_ENV === 'production') {
    throw new ConfigError([`${name} is required when NODE_ENV=production (no development default is generated there)`]);
  }
  const file = path.join(dataDir(env), 'secrets.json');
  const kept: Record<string, string> = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  const existing = kept[name];
  if (existing) return { value: existing, generated: false };
  const value = randomBytes(24).toString('base64url');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ ...kept, [name]: value }, null, 2) + '\n', { mode: 0o600 });
  return { value, generated: true };
}

/**
 * V8 flags a service process runs with (as NODE_OPTIONS) unless the operator sets NODE_OPTIONS:
 * a 96 MB old generation and 8 MB semi-spaces. Without them V8 sizes the heap from the machine's
 * memory and lets it grow long before collecting; with them a service's memory stays bounded, for
 * a little throughput on the batch ingest (more frequent collections; the figures: WRITEUP.md,
 * Performance at a million deployments, Memory). `npm start`, the Docker image and the benchmark
 * all use this one value; docker.test.ts holds the Dockerfile to it.
 */
export const SERVICE_NODE_OPTIONS = '--max-semi-space-size=8 --max-old-space-size=96';
