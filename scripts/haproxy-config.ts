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

/** An HAProxy time (`1s`, `500ms`, `2m`; a bare number is milliseconds) in milliseconds. */
function haproxyTimeMs(text: string): number {
  const m = /^(\d+)(us|ms|s|m|h|d)?$/.exec(text);
  if (!m) throw new Error(`haproxy.cfg: "${text}" is not a time`);
  const unit = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 1;
  return Number(m[1]) * unit;
}

export interface HealthChecks {
  /** `inter`: time between two checks of a server. */
  interMs: number;
  /** `fall`: failed checks in a row that take a server out. */
  fall: number;
  /** `rise`: passed checks in a row that put it back. */
  rise: number;
  /** `timeout check`: the longest a check may take. */
  timeoutMs: number;
}

/**
 * The health-check timings of a configuration (the slowest of its `default-server` lines), read
 * from the file so the drain that depends on them (see `drainDelayMs`) cannot drift from it.
 */
export function healthChecks(text: string): HealthChecks {
  const found: HealthChecks = { interMs: 0, fall: 0, rise: 0, timeoutMs: 0 };
  for (const line of text.split('\n')) {
    const server = /^\s+default-server\s+(.*)$/.exec(line);
    if (server) {
      const words = server[1]!.split(/\s+/);
      const value = (name: string) => {
        const i = words.indexOf(name);
        return i >= 0 ? words[i + 1] : undefined;
      };
      const inter = value('inter');
      const fall = value('fall');
      const rise = value('rise');
      if (inter) found.interMs = Math.max(found.interMs, haproxyTimeMs(inter));
      if (fall) found.fall = Math.max(found.fall, Number(fall));
      if (rise) found.rise = Math.max(found.rise, Number(rise));
    }
    const check = /^\s+timeout\s+check\s+(\S+)/.exec(line);
    if (check) found.timeoutMs = Math.max(found.timeoutMs, haproxyTimeMs(check[1]!));
  }
  for (const [name, value] of Object.entries(found))
    if (!value) throw new Error(`haproxy.cfg: no ${name.replace(/Ms$/, '')} setting for the health checks`);
  return found;
}

/**
 * The drain a replica needs behind this configuration: a replica's /readyz fails from its SIGTERM
 * on, and the balancer takes it out after `fall` failed checks `inter` apart, each taking up to
 * `timeout check`; one more interval covers a check that was just starting at the signal.
 * Only after that may the replica close its port.
 */
export function drainDelayMs(checks: HealthChecks): number {
  return checks.interMs * (checks.fall + 1) + checks.timeoutMs;
}

/** How long after a replica answers /readyz the balancer sends it traffic again: `rise` passed checks, and one interval to start. */
export function riseDelayMs(checks: HealthChecks): number {
  return checks.interMs * (checks.rise + 1) + checks.timeoutMs;
}
