/**
 * The base of absolute URLs in Link headers: the configured public URL, else this request's own
 * scheme and host (Koa 3's `ctx.origin` is the Origin header, not this). Trailing slashes dropped.
 */
export function requestBaseUrl(ctx: { protocol: string; host: string }, configured?: string): string {
  return (configured ?? `${ctx.protocol}://${ctx.host || 'localhost'}`).replace(/\/+$/, '');
}
