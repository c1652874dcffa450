import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo's own seed files (`seeds/` at the top of the repo), wherever this module was compiled to. */
export function defaultSeedFiles(): { users: string; projects: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!dir.endsWith(`${path.sep}project-service`) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const seeds = path.join(path.dirname(dir), 'seeds');
  return { users: path.join(seeds, 'users.json'), projects: path.join(seeds, 'projects.json') };
}
