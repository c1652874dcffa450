import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { dataDir, type Env } from '@hosting/shared';

/**
 * The `npm start` (or `npm run cluster`) that owns a data folder, recorded in
 * `<DATA_DIR>/npm-start.json` while it runs: a second one on the same folder reads it and refuses,
 * naming what runs (the launcher asks before compiling anything). A file left by a start that was killed names a dead pid and
 * is taken over.
 */
export interface Instance {
  /** `npm start` or `npm run cluster`: either owns the data folder alone (absent in records of older starts). */
  command?: string;
  pid: number;
  dataDir: string;
  ports: { project: number; aggregator: number; postgres?: number };
  startedAt: string;
}

const file = (env: Env) => path.join(dataDir(env), 'npm-start.json');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live `npm start` of this data folder, if one runs (other than this process). */
export function runningInstance(env: Env): Instance | undefined {
  let found: Instance;
  try {
    found = JSON.parse(readFileSync(file(env), 'utf8')) as Instance;
  } catch {
    return undefined;
  }
  return found.pid !== process.pid && alive(found.pid) ? found : undefined;
}

export function describeInstance(found: Instance): string {
  const ports = [`project-service on port ${found.ports.project}`, `aggregator-service on port ${found.ports.aggregator}`];
  if (found.ports.postgres) ports.push(`the embedded PostgreSQL on port ${found.ports.postgres}`);
  return (
    `another ${found.command ?? 'npm start'} is running for this data folder (${found.dataDir}): pid ${found.pid}, since ${found.startedAt}, with ${ports.join(', ')}. ` +
    `Stop it first (Ctrl-C in its terminal, or kill ${found.pid}), or start another one with its own DATA_DIR and ports.`
  );
}

/** Another live `npm start` owns the data folder; the message names it. */
export class AlreadyRunning extends Error {
  override name = 'AlreadyRunning';
}

/**
 * Records this process as the data folder's `npm start` (created exclusively, so of two starts
 * at the same moment one loses); returns the function that removes the record.
 */
export function claimInstance(env: Env, claim: Pick<Instance, 'command' | 'ports'>): () => void {
  const record: Instance = { ...claim, pid: process.pid, dataDir: dataDir(env), startedAt: new Date().toISOString() };
  mkdirSync(record.dataDir, { recursive: true });
  const text = JSON.stringify(record, null, 2) + '\n';
  try {
    writeFileSync(file(env), text, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = runningInstance(env);
    if (other) throw new AlreadyRunning(describeInstance(other));
    writeFileSync(file(env), text); // left by a start that was killed
  }
  return () => {
    if (runningInstance(env) === undefined) rmSync(file(env), { force: true });
  };
}
