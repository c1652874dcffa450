import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { secretMatchesDigest, sha256, type Knex } from '@hosting/shared';
import { z } from 'zod';
import { defaultSeedFiles } from './default-files.js';

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
    if (Array.isArray(data)) return data as unknown[];
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

/** One field of an existing row that differs from its seed record. */
export interface SeedDifference {
  table: 'users' | 'projects';
  id: number;
  /** As the API spells it: `name`, `createdAt`, `email`, `username`, `url`, `userId`, `appSecret`. */
  field: string;
  /** Database value and file value; never a secret (an app secret difference shows neither). */
  from: string | null;
  to: string | null;
}

export interface SeedOptions {
  /** Apply the differences of existing rows (`--overwrite`); by default existing rows are left as they are. */
  overwrite?: boolean;
  /** Work everything out and write nothing (`--dry-run`). */
  dryRun?: boolean;
}

/** What loading the files did, or (dry run) would do. */
export interface SeedReport {
  /** Ids of records that were not in the database and are (or would be) inserted. */
  created: { users: number[]; projects: number[] };
  /** Differences of existing rows that `--overwrite` applies; written only when `applied`. */
  changes: SeedDifference[];
  /** Differences no seed run applies: a project's URL, owner and app secret. */
  kept: SeedDifference[];
  /** Whether `changes` were written (with their events). */
  applied: boolean;
  /** The options it ran with. */
  overwrite: boolean;
  dryRun: boolean;
}

/**
 * What seeding may change of a row that already exists, and only with `--overwrite`. A project's
 * URL is set once, by its first successful deployment, with its `project.url_assigned` event; an
 * app secret may have been rotated since the file was written (and a file's secret is not a new
 * one); projects do not change owners (access checks rely on it). Those three are never touched.
 */
const USER_FIELDS = ['email', 'username', 'createdAt'] as const;
const PROJECT_FIELDS = ['name', 'createdAt'] as const;
const KEPT_REASON: Record<string, string> = {
  url: 'set once, by the first successful deployment',
  userId: 'a project never changes owner',
  appSecret: 'may have been rotated; POST /projects/:id/secret issues a new one',
};
export function keptReason(field: string): string {
  return KEPT_REASON[field] ?? '';
}

const iso = (d: Date | string) => new Date(d).toISOString();

type FieldChanges<F extends string> = Partial<Record<F, { from: string; to: string }>>;

/** The `fields` whose values differ between the row (`was`) and its record (`is`); each is also listed in `report`. */
function differences<F extends string>(
  table: SeedDifference['table'],
  id: number,
  fields: readonly F[],
  was: Record<F, string>,
  is: Record<F, string>,
  report: SeedDifference[],
): FieldChanges<F> {
  const changes: FieldChanges<F> = {};
  for (const field of fields) {
    if (was[field] === is[field]) continue;
    changes[field] = { from: was[field], to: is[field] };
    report.push({ table, id, field, from: was[field], to: is[field] });
  }
  return changes;
}

/**
 * Loads the seed files without ever overwriting live state by default: records whose id is not
 * in the database are inserted; existing rows are compared with their records and left alone,
 * their differences reported. With `overwrite`, the differences of the fields above are applied
 * and each changed row writes an event (`user.updated`, `project.updated`, source `seed`) to the
 * outbox in the same transaction. With `dryRun` nothing is written. The owner of every project
 * must exist (in the file or already in the database); the id sequences are moved past the
 * highest id (never back), so rows created later do not collide. A second run changes nothing.
 */
export async function applySeed(db: Knex, data: SeedData, options: SeedOptions = {}): Promise<SeedReport> {
  const dryRun = options.dryRun === true;
  const overwrite = options.overwrite === true && !dryRun;
  return db.transaction(async (trx) => {
    const known = new Set(data.users.map((u) => u.id));
    const missing = [...new Set(data.projects.map((p) => p.user_id).filter((id) => !known.has(id)))];
    if (missing.length > 0) {
      const found = new Set((await trx('users').whereIn('id', missing).select('id')).map((r) => r.id));
      const problems = data.projects
        .map((p, index) => ({ p, index }))
        .filter(({ p }) => !known.has(p.user_id) && !found.has(p.user_id))
        .map(
          ({ p, index }) =>
            `${path.basename(data.files.projects)} record ${index} (id ${p.id}), field "user_id": no user ${p.user_id} in ${path.basename(data.files.users)} or the database`,
        );
      if (problems.length > 0) throw new SeedError(problems);
    }

    // Locked, so that a concurrent change (a rename, a rotation) cannot slip between the comparison and the write.
    const users = new Map(
      (
        await trx('users')
          .whereIn(
            'id',
            data.users.map((u) => u.id),
          )
          .select('id', 'email', 'username', 'created_at')
          .forUpdate()
      ).map((u) => [u.id, u]),
    );
    const projects = new Map(
      (
        await trx('projects')
          .whereIn(
            'id',
            data.projects.map((p) => p.id),
          )
          .select('id', 'name', 'url', 'user_id', 'app_secret_sha256', 'created_at')
          .forUpdate()
      ).map((p) => [p.id, p]),
    );

    const report: SeedReport = {
      created: { users: [], projects: [] },
      changes: [],
      kept: [],
      applied: overwrite,
      overwrite: options.overwrite === true,
      dryRun,
    };
    const userUpdates: Array<{ id: number; changes: FieldChanges<(typeof USER_FIELDS)[number]> }> = [];
    for (const u of data.users) {
      const row = users.get(u.id);
      if (!row) {
        report.created.users.push(u.id);
        continue;
      }
      const was = { email: row.email, username: row.username, createdAt: iso(row.created_at) };
      const is = { email: u.email, username: u.username, createdAt: iso(u.created_at) };
      const changes = differences('users', u.id, USER_FIELDS, was, is, report.changes);
      if (Object.keys(changes).length > 0) userUpdates.push({ id: u.id, changes });
    }
    const projectUpdates: Array<{ id: number; name: string; userId: number; changes: FieldChanges<(typeof PROJECT_FIELDS)[number]> }> = [];
    for (const p of data.projects) {
      const row = projects.get(p.id);
      if (!row) {
        report.created.projects.push(p.id);
        continue;
      }
      const was = { name: row.name, createdAt: iso(row.created_at) };
      const is = { name: p.name, createdAt: iso(p.created_at) };
      const changes = differences('projects', p.id, PROJECT_FIELDS, was, is, report.changes);
      if (Object.keys(changes).length > 0) projectUpdates.push({ id: p.id, name: p.name, userId: row.user_id, changes });
      if (row.url !== p.url) report.kept.push({ table: 'projects', id: p.id, field: 'url', from: row.url, to: p.url });
      if (row.user_id !== p.user_id)
        report.kept.push({ table: 'projects', id: p.id, field: 'userId', from: String(row.user_id), to: String(p.user_id) });
      if (!secretMatchesDigest(p.app_secret, row.app_secret_sha256))
        report.kept.push({ table: 'projects', id: p.id, field: 'appSecret', from: null, to: null });
    }
    if (dryRun) return report;

    const newUsers = new Set(report.created.users);
    const newProjects = new Set(report.created.projects);
    if (newUsers.size > 0) {
      await trx('users')
        .insert(
          data.users
            .filter((u) => newUsers.has(u.id))
            .map((u) => ({ id: u.id, email: u.email, username: u.username, created_at: new Date(u.created_at) })),
        )
        .onConflict('id')
        .ignore();
      await moveSequencePast(trx, 'users');
    }
    if (newProjects.size > 0) {
      await trx('projects')
        .insert(
          data.projects
            .filter((p) => newProjects.has(p.id))
            .map((p) => ({
              id: p.id,
              name: p.name,
              url: p.url,
              user_id: p.user_id,
              app_secret_sha256: sha256(p.app_secret),
              created_at: new Date(p.created_at),
            })),
        )
        .onConflict('id')
        .ignore();
      await moveSequencePast(trx, 'projects');
    }
    if (!overwrite) return report;

    const events: Array<{ event_id: string; name: string; payload: Record<string, unknown> }> = [];
    for (const { id, changes } of userUpdates) {
      await trx('users')
        .where({ id })
        .update({
          ...(changes.email && { email: changes.email.to }),
          ...(changes.username && { username: changes.username.to }),
          ...(changes.createdAt && { created_at: new Date(changes.createdAt.to) }),
        });
      events.push({ event_id: randomUUID(), name: 'user.updated', payload: { userId: id, source: 'seed', requestId: null, changes } });
    }
    for (const { id, name, userId, changes } of projectUpdates) {
      await trx('projects')
        .where({ id })
        .update({
          ...(changes.name && { name: changes.name.to }),
          ...(changes.createdAt && { created_at: new Date(changes.createdAt.to) }),
        });
      events.push({
        event_id: randomUUID(),
        name: 'project.updated',
        payload: { projectId: id, projectName: name, userId, source: 'seed', requestId: null, changes },
      });
    }
    if (events.length > 0) await trx('outbox').insert(events);
    return report;
  });
}

/** Moves a table's id sequence past its highest id, never back (ids of deleted rows stay used). */
async function moveSequencePast(trx: Knex.Transaction, table: 'users' | 'projects'): Promise<void> {
  await trx.raw(
    `select setval(s.seq, greatest((select max(id) from :table:), coalesce(pg_sequence_last_value(s.seq), 0), 1))
     from (select pg_get_serial_sequence(:table, 'id')::regclass as seq) s`,
    { table },
  );
}

/** The report as lines for a person: what was (or would be) created and changed, and what was left alone. */
export function describeSeedReport(report: SeedReport): string[] {
  const lines: string[] = [];
  const would = report.dryRun ? 'Would create' : 'Created';
  const { users, projects } = report.created;
  if (users.length + projects.length > 0) lines.push(`${would} ${users.length} users and ${projects.length} projects.`);
  const show = (v: string | null) => (v === null ? 'null' : JSON.stringify(v));
  for (const c of report.changes) {
    const what = `${c.table === 'users' ? 'user' : 'project'} ${c.id}: ${c.field} ${show(c.from)} → ${show(c.to)}`;
    if (report.applied) lines.push(`Changed ${what}`);
    else if (report.overwrite) lines.push(`Would change ${what}`);
    else lines.push(`Differs ${what}: not changed (--overwrite applies it)`);
  }
  for (const k of report.kept) {
    const value = k.field === 'appSecret' ? 'differs from the file' : `${show(k.from)} (file: ${show(k.to)})`;
    lines.push(`Kept project ${k.id}: ${k.field} ${value}: never changed by seeding (${keptReason(k.field)})`);
  }
  if (users.length + projects.length + report.changes.length === 0)
    lines.push('Nothing to change: every record is already in the database.');
  else if (report.dryRun) lines.push('Dry run: nothing was written.');
  return lines;
}

/** True when the database holds no user and no project yet: the first start seeds it. */
export async function isEmpty(db: Knex): Promise<boolean> {
  const { rows } = await db.raw<{ rows: Array<{ empty: boolean }> }>(
    'select not exists (select 1 from users) and not exists (select 1 from projects) as empty',
  );
  return rows[0]?.empty ?? true;
}

/**
 * The first start's seeding (project-service's main and npm start): the repo's seed files into a
 * database that holds no user and no project yet. Undefined, and nothing written, when it holds some.
 */
export async function seedIfEmpty(db: Knex): Promise<SeedReport | undefined> {
  if (!(await isEmpty(db))) return undefined;
  return applySeed(db, await readSeedFiles(defaultSeedFiles()));
}
