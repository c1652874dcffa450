import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { secretMatchesDigest } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';
import { applySeed, describeSeedReport, readSeedFiles, SeedError } from '../src/features/seed/seed.js';
import { repoRoot, specDir, testService, type TestService } from './helpers.js';

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
    const first = await applySeed(database.db, await readSeedFiles(ours));
    expect(first.created.projects).toHaveLength(20);
    const second = await applySeed(database.db, await readSeedFiles(ours));
    expect(second).toMatchObject({ created: { users: [], projects: [] }, changes: [], kept: [] });
    expect(describeSeedReport(second)).toEqual(['Nothing to change: every record is already in the database.']);
    expect(await counts()).toEqual({ users: 4, projects: 20 });
    const [created] = await database.db('users').insert({ email: 'new@example.com', username: 'new' }).returning('id');
    expect(created!.id).toBe(5);
  });

  it('never moves an id sequence back: an id used by a deleted row is not handed out again', async () => {
    const user = (id: number) => ({ id, email: `u${id}@example.com`, username: `u${id}`, created_at: '2023-01-01T00:00:00.000Z' });
    const noProjects = writeJson('no-projects.json', []);
    await applySeed(database.db, await readSeedFiles({ users: writeJson('users-1-2.json', [user(1), user(2)]), projects: noProjects }));
    await database.db('users').insert([
      { email: 'three@example.com', username: 'three' },
      { email: 'gone@example.com', username: 'gone' },
    ]);
    await database.db('users').whereIn('id', [2, 4]).delete();
    // A record below the sequence is inserted, and the sequence stays where it was (not back to max(id) = 3).
    await applySeed(database.db, await readSeedFiles({ users: writeJson('user-2.json', [user(2)]), projects: noProjects }));
    const [next] = await database.db('users').insert({ email: 'next@example.com', username: 'next' }).returning('id');
    expect(next!.id).toBe(5);
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
    expect((error as SeedError).problems).toEqual([
      'projects-orphan.json record 0 (id 1), field "user_id": no user 99 in users-ok.json or the database',
    ]);
    expect(await counts()).toEqual({ users: 0, projects: 0 });
  });

  it('refuses unknown fields, duplicate ids, non-arrays and invalid JSON', async () => {
    const extra = writeJson('extra.json', [
      { id: 1, email: 'a@example.com', username: 'a', created_at: '2023-01-01T00:00:00Z', admin: true },
    ]);
    const dupes = writeJson('dupes.json', [
      { id: 1, name: 'p', url: null, user_id: 1, app_secret: 'x'.repeat(32), created_at: '2023-01-01T00:00:00Z' },
      { id: 1, name: 'q', url: null, user_id: 1, app_secret: 'y'.repeat(32), created_at: '2023-01-01T00:00:00Z' },
    ]);
    const e1 = (await readSeedFiles({ users: extra, projects: dupes }).catch((e: unknown) => e)) as SeedError;
    expect(e1.problems).toEqual([
      expect.stringMatching(/^extra\.json record 0 \(id 1\), field "\(record\)": .*admin/),
      'dupes.json record 1 (id 1), field "id": duplicate id 1 in this file',
    ]);
    const e2 = (await readSeedFiles({ users: writeJson('obj.json', { id: 1 }), projects: writeJson('bad.json', '[{') }).catch(
      (e: unknown) => e,
    )) as SeedError;
    expect(e2.problems[0]).toMatch(/obj\.json: must be a JSON array/);
    expect(e2.problems[1]).toMatch(/bad\.json: is not valid JSON/);
  });
});

describe('seeding a live database', () => {
  let svc: TestService;
  beforeEach(async () => {
    svc = await testService();
  });
  afterEach(() => svc.close());
  const outbox = () => svc.db('outbox').orderBy('id').select('name', 'payload');
  const projectsFile = () =>
    JSON.parse(readFileSync(ours.projects, 'utf8')) as Array<Record<string, unknown> & { id: number; name: string; app_secret: string }>;

  it("never resets a project's URL nor reverts a rotated secret: live state survives a second seed", async () => {
    await applySeed(svc.db, await readSeedFiles(ours));
    const [p1] = projectsFile();
    const created = await svc.call('post', `/projects/${p1!.id}/deployment`);
    await svc.call('post', '/deployment/webhook', { token: p1!.app_secret, body: { id: created.body.id, status: 'done' } });
    const rotated = await svc.call('post', `/projects/${p1!.id}/secret`);
    const live = (await svc.db('projects').where({ id: p1!.id }).first())!;
    expect(live.url).not.toBeNull();
    const events = await outbox();

    const report = await applySeed(svc.db, await readSeedFiles(ours));
    expect(report.created).toEqual({ users: [], projects: [] });
    expect(report.changes).toEqual([]);
    expect(report.kept).toEqual([
      { table: 'projects', id: p1!.id, field: 'url', from: live.url, to: null },
      { table: 'projects', id: p1!.id, field: 'appSecret', from: null, to: null },
    ]);
    expect(await svc.db('projects').where({ id: p1!.id }).first()).toEqual(live);
    expect(await outbox()).toEqual(events);

    // The rotated secret still works, the file's does not; the next done gives no second URL.
    const next = await svc.call('post', `/projects/${p1!.id}/deployment`);
    expect(
      (await svc.call('post', '/deployment/webhook', { token: p1!.app_secret, body: { id: next.body.id, status: 'done' } })).status,
    ).toBe(401);
    expect(
      (await svc.call('post', '/deployment/webhook', { token: rotated.body.appSecret, body: { id: next.body.id, status: 'done' } })).status,
    ).toBe(200);
    expect((await svc.db('projects').where({ id: p1!.id }).first())!.url).toBe(live.url);
    expect((await outbox()).filter((e) => e.name === 'project.url_assigned')).toHaveLength(1);
  });

  it('changes an existing row only with overwrite, says what it would change first, and records each change as an event', async () => {
    await applySeed(svc.db, await readSeedFiles(ours));
    const records = projectsFile();
    records[1]!.name = 'renamed-in-the-file';
    const users = JSON.parse(readFileSync(ours.users, 'utf8')) as Array<Record<string, unknown>>;
    const username = users[0]!.username as string;
    users[0]!.username = 'renamed-user';
    const files = { users: writeJson('live-users.json', users), projects: writeJson('live-projects.json', records) };
    const before = await svc.db('projects').orderBy('id').select('*');
    const events = await outbox();
    const name = before[1]!.name;
    const differences = [
      { table: 'users', id: 1, field: 'username', from: username, to: 'renamed-user' },
      { table: 'projects', id: records[1]!.id, field: 'name', from: name, to: 'renamed-in-the-file' },
    ];

    const plain = await applySeed(svc.db, await readSeedFiles(files));
    expect(plain).toMatchObject({ changes: differences, applied: false });
    expect(describeSeedReport(plain)).toContain(
      `Differs project ${records[1]!.id}: name "${name}" → "renamed-in-the-file": not changed (--overwrite applies it)`,
    );
    const preview = await applySeed(svc.db, await readSeedFiles(files), { overwrite: true, dryRun: true });
    expect(preview).toMatchObject({ changes: differences, applied: false });
    expect(describeSeedReport(preview)).toEqual(
      expect.arrayContaining([
        `Would change project ${records[1]!.id}: name "${name}" → "renamed-in-the-file"`,
        'Dry run: nothing was written.',
      ]),
    );
    expect(await svc.db('projects').orderBy('id').select('*')).toEqual(before);
    expect(await outbox()).toEqual(events);

    const applied = await applySeed(svc.db, await readSeedFiles(files), { overwrite: true });
    expect(applied).toMatchObject({ changes: differences, applied: true });
    expect((await svc.db('projects').where({ id: records[1]!.id }).first())!.name).toBe('renamed-in-the-file');
    expect((await outbox()).slice(events.length)).toEqual([
      {
        name: 'user.updated',
        payload: { userId: 1, source: 'seed', requestId: null, changes: { username: { from: username, to: 'renamed-user' } } },
      },
      {
        name: 'project.updated',
        payload: {
          projectId: records[1]!.id,
          projectName: 'renamed-in-the-file',
          userId: records[1]!.user_id,
          source: 'seed',
          requestId: null,
          changes: { name: { from: name, to: 'renamed-in-the-file' } },
        },
      },
    ]);
    const again = await applySeed(svc.db, await readSeedFiles(files), { overwrite: true });
    expect(again).toMatchObject({ created: { users: [], projects: [] }, changes: [] });
    expect((await outbox()).length).toBe(events.length + 2);
  });
});

describe('npm run seed (the compiled CLI)', () => {
  const cli = path.join(repoRoot, 'scripts', 'dist', 'seed.js');
  const env = () => ({ ...process.env, PROJECT_DATABASE_URL: database.url });

  it('seeds the given files into PROJECT_DATABASE_URL, migrating first', async () => {
    const args = [cli, '--users', original.users, '--projects', original.projects];
    const { stdout } = await run(process.execPath, args, { env: env() });
    expect(stdout).toMatch(
      /^Seed files .*users\.json \(4 users\) and .*projects\.json \(\d+ projects\):\nCreated 4 users and \d+ projects\.\n$/,
    );
    expect((await counts()).users).toBe(4);
    const again = await run(process.execPath, args, { env: env() });
    expect(again.stdout).toMatch(/:\nNothing to change: every record is already in the database\.\n$/);
  });

  it('--dry-run lists and writes nothing', async () => {
    const { stdout } = await run(process.execPath, [cli, '--users', original.users, '--projects', original.projects, '--dry-run'], {
      env: env(),
    });
    expect(stdout).toMatch(/\nWould create 4 users and \d+ projects\.\nDry run: nothing was written\.\n$/);
    expect(await counts()).toEqual({ users: 0, projects: 0 });
  });

  it('exits 1 naming the problem, and writes nothing', async () => {
    const bad = writeJson('cli-users.json', [{ id: 1, email: 'a@example.com', username: '', created_at: '2023-01-01T00:00:00Z' }]);
    const result = await run(process.execPath, [cli, '--users', bad, '--projects', ours.projects], { env: env() }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((result as { code: number }).code).toBe(1);
    expect((result as { stderr: string }).stderr).toMatch(/cli-users\.json record 0 \(id 1\), field "username"/);
    expect(await counts()).toEqual({ users: 0, projects: 0 });
  });
});
