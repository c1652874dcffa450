/**
 * The base of absolute URLs in Link headers: the configured public URL, else this request's own
 * scheme and host (Koa 3's `ctx.origin` is the Origin header, not this). Trailing slashes dropped.
 */
export function requestBaseUrl(ctx: { protocol: string; host: string }, configured?: string): string {
  return (configured ?? `${ctx.protocol}://${ctx.host || 'localhost'}`).replace(/\/+$/, '');
}

/**
 * Sets `Link: <…>; rel="next"` for a keyset page: this request's URL (on `configured` when set)
 * with its query kept and `cursor` replaced. Nothing when there is no next page.
 */
export function setNextPageLink(
  ctx: { protocol: string; host: string; path: string; querystring: string; set(field: string, value: string): void },
  nextCursor: string | null | undefined,
  configured?: string,
): void {
  if (!nextCursor) return;
  const query = new URLSearchParams(ctx.querystring);
  query.set('cursor', nextCursor);
  ctx.set('Link', `<${requestBaseUrl(ctx, configured)}${ctx.path}?${query.toString()}>; rel="next"`);
}
