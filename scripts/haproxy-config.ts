/**
 * ops/haproxy/haproxy.cfg with other addresses: the frontends' `bind` and the backends' `server`
 * lines are replaced (one line per replica, with the options of the file's first server line);
 * everything else (timeouts, health checks, retries) stays as shipped, so what runs locally and
 * in the tests is the deployment's configuration.
 */
export interface HaproxyLayout {
  project: { bind: string; servers: string[] };
  aggregator: { bind: string; servers: string[] };
}

const FRONTENDS = { project: 'project', aggregator: 'aggregator' } as const;
const BACKENDS = { project_replicas: 'project', aggregator_replicas: 'aggregator' } as const;

export function renderHaproxyConfig(text: string, layout: HaproxyLayout): string {
  const out: string[] = [];
  const seen = new Set<string>();
  let section: { kind: string; name: string } | undefined;
  for (const line of text.split('\n')) {
    const header = /^(global|defaults|frontend|backend|listen)\b\s*(\S*)/.exec(line);
    if (header) section = { kind: header[1]!, name: header[2] ?? '' };
    const frontend = section?.kind === 'frontend' ? FRONTENDS[section.name as keyof typeof FRONTENDS] : undefined;
    const backend = section?.kind === 'backend' ? BACKENDS[section.name as keyof typeof BACKENDS] : undefined;
    const bind = /^(\s+)bind\s+\S+(.*)$/.exec(line);
    if (frontend && bind) {
      out.push(`${bind[1]}bind ${layout[frontend].bind}${bind[2]}`);
      seen.add(`bind ${frontend}`);
      continue;
    }
    const server = /^(\s+)server\s+\S+\s+\S+(.*)$/.exec(line);
    if (backend && server) {
      if (!seen.has(`servers ${backend}`)) {
        layout[backend].servers.forEach((address, i) => out.push(`${server[1]}server ${backend}-${i + 1} ${address}${server[2]}`));
        seen.add(`servers ${backend}`);
      }
      continue;
    }
    out.push(line);
  }
  for (const want of ['bind project', 'bind aggregator', 'servers project', 'servers aggregator']) {
    if (!seen.has(want)) throw new Error(`haproxy.cfg has no ${want.replace(' ', ' line for ')}`);
  }
  return out.join('\n');
}
