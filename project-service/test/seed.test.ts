import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { secretMatchesDigest } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { applySeed, readSeedFiles, SeedError } from '../src/features/seed/seed.js';
import { repoRoot, specDir } from './helpers.js';

const run = promisify(execFile);
const original = { users: path.join(specDir, 'users.json'), projects: path.join(specDir, 'projects.json') };
const ours = { users: path.join(repoRoot, 'seeds', 'users.json'), projects: path.join(repoRoot, 'seeds', 'projects.json') };

let database: TestDatabase;
beforeEach(async () => {
  database = await createTestDatabase('project');
});
afterEach(() => database.drop());

const tmp = mkdtempSync(path.join(os.tmpdir(), 'seed-test-'));
function writeJson(name: string, data: unknown): string {
  const file = path.join(tmp, name);
  writeFileSync(file, typeof data === 'string' ? data : JSON.stringify(data));
  return file;
}
const counts = async () => {
  const [u] = await database.db('users').count<{ count: number }[]>('* as count');
  const [p] = await database.db('projects').count<{ count: number }[]>('* as count');
  return { users: u!.count, projects: p!.count };
};

describe('seed loader', () => {
  it("loads the platform's original files, keeping ids, dates and (hashed) secrets", async () => {
    const users = JSON.parse(readFileSync(original.users, 'utf8'));
    const projects = JSON.parse(readFileSync(original.projects, 'utf8'));
    await applySeed(database.db, await readSeedFiles(original));
    expect(await counts()).toEqual({ users: users.length, projects: projects.length });
    const first = (await database.db('projects').where({ id: projects[0].id }).first())!;
    expect(first.name).toBe(projects[0].name);
    expect(first.user_id).toBe(projects[0].user_id);
    expect(first.created_at.toISOString()).toBe(projects[0].created_at);
    expect(secretMatchesDigest(projects[0].app_secret, first.app_secret_sha256)).toBe(true);
    expect(JSON.stringify(await database.db('projects').select('*'))).not.toContain(projects[0].app_secret);
  });

  it('is idempotent and moves the id sequences past the highest id', async () => {
    await applySeed(database.db, await readSeedFiles(ours));
    await applySeed(database.db, await readSeedFiles(ours));
    expect(await counts()).toEqual({ users: 4, projects: 20 });
    const [created] = await database.db('users').insert({ email: 'new@example.com', username: 'new' }).returning('id');
    expect(created!.id).toBe(5);
  });

  it('refuses a file with bad records, naming file, record and field, and writes nothing', async () => {
    const users = writeJson('users.json', [
      { id: 1, email: 'a@example.com', username: 'a', created_at: '2023-01-01T00:00:00.000Z' },
      { id: 2, email: 'not-an-email', username: 'b', created_at: '2023-01-01T00:00:00.000Z' },
    ]);
    const projects = writeJson('projects.json', [
      { id: 1, name: 'p', url: null, user_id: 1, app_secret: 'x'.repeat(32), created_at: 'yesterday' },
    ]);
    const error = await readSeedFiles({ users, projects }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeedError);
    expect((error as SeedError).problems).toEqual([
      expect.stringMatching(/^users\.json record 1 \(id 2\), field "email": /),
      expect.stringMatching(/^projects\.json record 0 \(id 1\), field "created_at": /),
    ]);
    expect(await counts()).toEqual({ users: 0, projects: 0 });
  });

  it('refuses a project whose owner exists nowhere, and rolls back the users it would have written', async () => {
    const users = writeJson('users-ok.json', [{ id: 7, email: 'a@example.com', username: 'a', created_at: '2023-01-01T00:00:00.000Z' }]);
    const projects = writeJson('projects-orphan.json', [
      { id: 1, name: 'p', url: null, user_id: 99, app_secret: 'x'.repeat(32), created_at: '2023-01-01T00:00:00.000Z' },
    ]);
    const error = await applySeed(database.db, await readSeedFiles({ users, projects })).catch((e: unknown) => e);
    expect((error as SeedError).problems).toEqual(['projects-orphan.json record 0 (id 1), field "user_id": no user 99 in users-ok.json or the database']);
    expect(await counts()).toEqual({ users: 0, projects: 0 });
  });

  it('refuses unknown fields, duplicate ids, non-arrays and invalid JSON', async () => {
    const extra = writeJson('extra.json', [{ id: 1, email: 'a@example.com', username: 'a', created_at: '2023-01-01T00:00:00Z', admin: true }]);
    const dupes = writeJson('dupes.json', [
      { id: 1, name: 'p', url: null, user_id: 1, app_secret: 'x'.repeat(32), created_at: '2023-01-01T00:00:00Z' },
      { id: 1, name: 'q', url: null, user_id: 1, app_secret: 'y'.repeat(32), created_at: '2023-01-01T00:00:00Z' },
    ]);
    const e1 = (await readSeedFiles({ users: extra, projects: dupes }).catch((e: unknown) => e)) as SeedError;
    expect(e1.problems).toEqual([
      expect.stringMatching(/^extra\.json record 0 \(id 1\), field "\(record\)": .*admin/),
      'dupes.json record 1 (id 1), field "id": duplicate id 1 in this file',
    ]);
    const e2 = (await readSeedFiles({ users: writeJson('obj.json', { id: 1 }), projects: writeJson('bad.json', '[{') }).catch((e: unknown) => e)) as SeedError;
    expect(e2.problems[0]).toMatch(/obj\.json: must be a JSON array/);
    expect(e2.problems[1]).toMatch(/bad\.json: is not valid JSON/);
  });
});

describe('npm run seed (the compiled CLI)', () => {
  const cli = path.join(repoRoot, 'scripts', 'dist', 'seed.js');
  const env = () => ({ ...process.env, PROJECT_DATABASE_URL: database.url });

  it('seeds the given files into PROJECT_DATABASE_URL, migrating first', async () => {
    const { stdout } = await run(process.execPath, [cli, '--users', original.users, '--projects', original.projects], { env: env() });
    expect(stdout).toMatch(/^Seeded 4 users from .*users\.json and \d+ projects from .*projects\.json/);
    expect((await counts()).users).toBe(4);
  });

  it('exits 1 naming the problem, and writes nothing', async () => {
    const bad = writeJson('cli-users.json', [{ id: 1, email: 'a@example.com', username: '', created_at: '2023-01-01T00:00:00Z' }]);
    const result = await run(process.execPath, [cli, '--users', bad, '--projects', ours.projects], { env: env() }).catch((e: { code: number; stderr: string }) => e);
    expect((result as { code: number }).code).toBe(1);
    expect((result as { stderr: string }).stderr).toMatch(/cli-users\.json record 0 \(id 1\), field "username"/);
    expect(await counts()).toEqual({ users: 0, projects: 0 });
  });
});
