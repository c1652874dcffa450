import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@hosting/shared';
import { root } from './processes.js';

const run = promisify(execFile);

/**
 * `npm run migrate` and `npm run seed` given a database URL that does not answer: one line naming
 * the variable, the password masked, no stack trace (before, knex's "Acquire connection error" and
 * the driver's stack), exit 1. The same line `npm start` prints for it (scripts/preflight.ts).
 */
describe.each([
  ['migrate', 'migrate.js'],
  ['seed', 'seed.js'],
])('npm run %s with an unreachable PROJECT_DATABASE_URL', (_name, script) => {
  it('says so in one line naming the variable and exits 1', async () => {
    const url = `postgres://app:s3cret-pw@127.0.0.1:${await freePort()}/projects`;
    const env = { ...process.env, PROJECT_DATABASE_URL: url, AGGREGATOR_DATABASE_URL: url, LOG_LEVEL: 'info' };
    const failed = await run(process.execPath, [path.join(root, 'scripts', 'dist', script)], { env }).then(
      () => undefined,
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    const out = `${failed?.stdout}${failed?.stderr}`;
    expect(out).toMatch(/PROJECT_DATABASE_URL: cannot connect to postgres:\/\/app:\*\*\*@127\.0\.0\.1:\d+\/projects \(ECONNREFUSED\)/);
    expect(out).not.toMatch(/\n\s+at \S/);
    expect(out).not.toContain('s3cret-pw');
    expect(out.trim().split('\n')).toHaveLength(2); // "Invalid configuration:" and the line
  }, 30_000);
});
