/**
 * One line per step of `npm start` or `npm run cluster`, with its time: `npm start: <what> … 1.2 s
 * (<detail>)`. The launcher (scripts/launch.mjs) prints its compile step in the same form.
 */
export async function step<T>(command: string, what: string, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  process.stdout.write(`${command}: ${what} …\n`);
  const result = await run();
  const detail = typeof result === 'string' && result ? ` (${result})` : '';
  process.stdout.write(`${command}: ${what}: done in ${((performance.now() - started) / 1000).toFixed(1)} s${detail}\n`);
  return result;
}
