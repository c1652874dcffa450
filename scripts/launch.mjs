// `npm start` and `npm run cluster` (`launch.mjs cluster [options]`): refuses at once when this
// data folder's `npm start` or cluster already runs (before compiling anything), compiles what
// changed (`tsc -b`: a no-op check after `npm ci`, whose `prepare` step built everything), then
// runs the compiled command (scripts/start.ts or scripts/cluster.ts) in this process, with the
// command's own options left in process.argv. Plain JavaScript: it runs before the TypeScript is
// compiled.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const scripts = path.dirname(fileURLToPath(import.meta.url));
const cluster = process.argv[2] === 'cluster';
if (cluster) process.argv.splice(2, 1);
const command = cluster ? 'npm run cluster' : 'npm start';
const instance = path.join(scripts, 'dist', 'instance.js');
const shared = path.join(scripts, '..', 'shared', 'dist', 'src', 'index.js');
if (existsSync(instance) && existsSync(shared)) {
  // Compiled by an earlier start: the same code the running one (if any) recorded itself with.
  // A build that cannot load is skipped here: the compiled start command checks again.
  const check = await Promise.all([import(pathToFileURL(shared).href), import(pathToFileURL(instance).href)]).catch(() => undefined);
  if (check) {
    const [{ loadDotenv }, { runningInstance, describeInstance }] = check;
    loadDotenv();
    const other = runningInstance(process.env);
    if (other) {
      process.stderr.write(`${command}: ${describeInstance(other)}\n`);
      process.exit(1);
    }
  }
}

const started = performance.now();
process.stdout.write(`${command}: compiling TypeScript (tsc -b) …\n`);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const build = spawnSync(process.execPath, [tsc, '-b'], { cwd: path.join(scripts, '..'), stdio: ['ignore', 'inherit', 'inherit'] });
if (build.status !== 0) {
  process.stderr.write(`${command}: the TypeScript build failed (errors above)\n`);
  process.exit(build.status ?? 1);
}
process.stdout.write(`${command}: compiling TypeScript (tsc -b): done in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
await import(pathToFileURL(path.join(scripts, 'dist', cluster ? 'cluster.js' : 'start.js')).href);
