import type { Middleware } from 'koa';
import { BadRequestError } from '../errors.js';

/**
 * `hostname[:port]` as a Host header may carry it: DNS labels (underscores allowed: container names
 * have them), an IPv4 address, or a bracketed IPv6 address, then an optional port. Nothing else, so
 * a Host value can never carry `>`, `;`, `,`, quotes, spaces or a path into a URL built from it.
 */
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?';
const HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*\\.?|\\[[0-9A-Fa-f:.]{2,45}\\])(?::(\\d{1,5}))?$`);

/** True when `host` is `hostname[:port]` (port 1–65535) and at most 261 characters. */
export function isValidHost(host: string): boolean {
  if (host.length > 261) return false;
  const match = HOST.exec(host);
  if (!match) return false;
  const port = match[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65_535);
}

/** Throws the 400 for a host that is present and not `hostname[:port]`. */
function checkHost(host: string): void {
  if (host && !isValidHost(host)) throw new BadRequestError('Invalid Host header: must be hostname[:port]');
}

/**
 * Refuses (400 in the error shape) a request whose host (the Host header, or X-Forwarded-Host when
 * the app trusts its proxy) is not `hostname[:port]`: links are built from it when no public base
 * URL is configured, and an attacker's `Host: a>; rel="next", <https://evil` must never reach one.
 * A request without a host (HTTP/1.0) passes.
 */
export function hostGuard(): Middleware {
  return async (ctx, next) => {
    checkHost(ctx.host);
    await next();
  };
}

/**
 * `Cache-Control: private, no-store` on every answer of the routes behind it (the API routes: all
 * take a credential), errors and unknown routes included, so that an operator route refused to a
 * user stays identical to an unknown one: no shared or browser cache keeps one tenant's data, or a
 * page whose links a cache could hand to someone else. A route with another need (a stream, a
 * secret, an export) sets its own.
 */
export function privateAnswers(): Middleware {
  return async (ctx, next) => {
    ctx.set('Cache-Control', 'private, no-store');
    await next();
  };
}

/**
 * The base of absolute URLs in Link headers: the configured public URL, else this request's own
 * scheme and host (Koa 3's `ctx.origin` is the Origin header, not this), which must be
 * `hostname[:port]` (see hostGuard; checked here too, so that no caller can build a link from a
 * forged one). Trailing slashes of the configured URL dropped.
 */
export function requestBaseUrl(ctx: { protocol: string; host: string }, configured?: string): string {
  if (configured !== undefined) return configured.replace(/\/+$/, '');
  checkHost(ctx.host);
  // ctx.protocol is X-Forwarded-Proto's first value behind a trusted proxy: only the two schemes we serve.
  return `${ctx.protocol === 'https' ? 'https' : 'http'}://${ctx.host || 'localhost'}`;
}

/** A route's own query parameters as it parsed them; `undefined` ones are left out of a link. */
export type LinkParams = Record<string, string | number | readonly string[] | undefined>;

/**
 * The query of a link: the route's own parameters as it understood them, in the order given,
 * written back in one form (numbers as digits, a list once per value and comma-joined). Parameters
 * the route does not read are never echoed, and a value is what the route parsed, not what the
 * client wrote: a link's length is bounded by what the route accepts. (Echoed, 12 KB of unknown
 * parameters in the four links of a page made a 50 KB header that Node's HTTP client, nginx and
 * HAProxy all refuse to read: the client saw no answer where the page was a 200.)
 */
export function linkQuery(params: LinkParams): URLSearchParams {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    query.set(name, typeof value === 'string' ? value : typeof value === 'number' ? String(value) : [...new Set(value)].join(','));
  }
  return query;
}

/**
 * Sets `Link: <…>; rel="next"` for a keyset page: this request's path (on `configured` when set)
 * with the route's own parameters (`linkQuery`) and the next `cursor`. Nothing when there is no
 * next page.
 */
export function setNextPageLink(
  ctx: { protocol: string; host: string; path: string; set(field: string, value: string): void },
  nextCursor: string | null | undefined,
  params: LinkParams,
  configured?: string,
): void {
  if (!nextCursor) return;
  const query = linkQuery(params);
  query.set('cursor', nextCursor);
  ctx.set('Link', `<${requestBaseUrl(ctx, configured)}${ctx.path}?${query.toString()}>; rel="next"`);
}
