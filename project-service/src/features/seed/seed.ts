import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256, type Knex } from '@hosting/shared';
import { z } from 'zod';

/**
 * The platform's seed format: `users.json` and `projects.json`, arrays of records exactly as in
 * the original files (snake_case, `app_secret` in clear). Every record is validated before
 * anything is written; on any problem nothing is written and each problem names the file, the
 * record and the field.
 */
const timestamp = z.iso.datetime({ offset: true });

export const seedUser = z
  .object({
    id: z.number().int().positive().max(2_147_483_647),
    email: z.string().email(),
    username: z.string().min(1),
    created_at: timestamp,
  })
  .strict();

export const seedProject = z
  .object({
    id: z.number().int().positive().max(2_147_483_647),
    name: z.string().trim().min(1),
    url: z.string().url().nullable(),
    user_id: z.number().int().positive(),
    app_secret: z.string().min(16, 'must be at least 16 characters'),
    created_at: timestamp,
  })
  .strict();

export type SeedUser = z.infer<typeof seedUser>;
export type SeedProject = z.infer<typeof seedProject>;

export class SeedError extends Error {
  constructor(readonly problems: string[]) {
    super(`Seed data rejected, nothing was written:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SeedError';
  }
}

async function readArray(file: string, problems: string[]): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    problems.push(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return [];
  }
  try {
    const data: unknown = JSON.parse(text);
    if (Array.isArray(data)) return data;
    problems.push(`${file}: must be a JSON array of records`);
  } catch (err) {
    problems.push(`${file}: is not valid JSON (${(err as Error).message})`);
  }
  return [];
}

function validate<T>(file: string, records: unknown[], schema: z.ZodType<T>, problems: string[]): T[] {
  const name = path.basename(file);
  const valid: T[] = [];
  const seen = new Set<number>();
  records.forEach((record, index) => {
    const id = (record as { id?: unknown } | null)?.id;
    const label = `${name} record ${index}${typeof id === 'number' ? ` (id ${id})` : ''}`;
    const result = schema.safeParse(record);
    if (!result.success) {
      for (const issue of result.error.issues) problems.push(`${label}, field "${issue.path.join('.') || '(record)'}": ${issue.message}`);
      return;
    }
    const recordId = (result.data as { id: number }).id;
    if (seen.has(recordId)) problems.push(`${label}, field "id": duplicate id ${recordId} in this file`);
    seen.add(recordId);
    valid.push(result.data);
  });
  return valid;
}

export interface SeedData {
  users: SeedUser[];
  projects: SeedProject[];
  files: { users: string; projects: string };
}

/** Reads and validates both files; throws SeedError listing every problem. */
export async function readSeedFiles(files: { users: string; projects: string }): Promise<SeedData> {
  const problems: string[] = [];
  const users = validate(files.users, await readArray(files.users, problems), seedUser, problems);
  const projects = validate(files.projects, await readArray(files.projects, problems), seedProject, problems);
  if (problems.length > 0) throw new SeedError(problems);
  return { users, projects, files };
}

/**
 * Upserts users then projects by id in one transaction, checks that every project's owner
 * exists (in the file or already in the database), and moves the id sequences past the highest
 * id so that rows created later do not collide. Running it twice changes nothing the second time.
 */
export async function applySeed(db: Knex, data: SeedData): Promise<{ users: number; projects: number }> {
  await db.transaction(async (trx) => {
    const known = new Set(data.users.map((u) => u.id));
    const missing = [...new Set(data.projects.map((p) => p.user_id).filter((id) => !known.has(id)))];
    if (missing.length > 0) {
      const found = new Set((await trx('users').whereIn('id', missing).select('id')).map((r) => r.id));
      const problems = data.projects
        .map((p, index) => ({ p, index }))
        .filter(({ p }) => !known.has(p.user_id) && !found.has(p.user_id))
        .map(({ p, index }) => `${path.basename(data.files.projects)} record ${index} (id ${p.id}), field "user_id": no user ${p.user_id} in ${path.basename(data.files.users)} or the database`);
      if (problems.length > 0) throw new SeedError(problems);
    }
    if (data.users.length > 0) {
      await trx('users')
        .insert(data.users.map((u) => ({ id: u.id, email: u.email, username: u.username, created_at: new Date(u.created_at) })))
        .onConflict('id')
        .merge();
      await trx.raw(`select setval(pg_get_serial_sequence('users', 'id'), greatest((select max(id) from users), 1))`);
    }
    if (data.projects.length > 0) {
      await trx('projects')
        .insert(
          data.projects.map((p) => ({
            id: p.id,
            name: p.name,
            url: p.url,
            user_id: p.user_id,
            app_secret_sha256: sha256(p.app_secret),
            created_at: new Date(p.created_at),
          })),
        )
        .onConflict('id')
        .merge();
      await trx.raw(`select setval(pg_get_serial_sequence('projects', 'id'), greatest((select max(id) from projects), 1))`);
    }
  });
  return { users: data.users.length, projects: data.projects.length };
}

/** True when the database holds no user and no project yet: the first start seeds it. */
export async function isEmpty(db: Knex): Promise<boolean> {
  const { rows } = await db.raw<{ rows: Array<{ empty: boolean }> }>(
    'select not exists (select 1 from users) and not exists (select 1 from projects) as empty',
  );
  return rows[0]?.empty ?? true;
}
