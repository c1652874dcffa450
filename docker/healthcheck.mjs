// The image's HEALTHCHECK: GET /healthz of the service this container runs, with Node's own
// fetch (slim images have no curl). Exit 0 when it answers 2xx within 2 s, else 1.
//
// Port: SERVICE_PORT when set; otherwise the port of the service named in the container's
// command (PID 1): AGGREGATOR_SERVICE_PORT (default 3001) for aggregator-service, else
// PROJECT_SERVICE_PORT (default 3000). So one image serves both without extra settings.
import { readFileSync } from 'node:fs';

function port() {
  if (process.env.SERVICE_PORT) return process.env.SERVICE_PORT;
  let command = '';
  try {
    command = readFileSync('/proc/1/cmdline', 'utf8');
  } catch {
    // not Linux, or no access: fall back to project-service
  }
  return command.includes('aggregator-service')
    ? process.env.AGGREGATOR_SERVICE_PORT || '3001'
    : process.env.PROJECT_SERVICE_PORT || '3000';
}

const url = `http://127.0.0.1:${port()}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!res.ok) {
    process.stderr.write(`${url}: ${res.status}\n`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  process.stderr.write(`${url}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
