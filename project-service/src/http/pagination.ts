import type { Context } from 'koa';
import { z } from 'zod';
import { integerText, linkQuery, requestBaseUrl, type LinkParams } from '@hosting/shared';

/** The contract's page size for every paginated list. */
export const PAGE_SIZE = 8;
/** Pages beyond this are refused: an offset this deep is a mistake or an attack, never a screen. */
export const MAX_PAGE = 1_000_000;

export const pageParam = z
  .string()
  .regex(/^[1-9][0-9]{0,6}$/, 'must be a positive integer')
  .transform(Number)
  .refine((n) => n <= MAX_PAGE, `must be at most ${MAX_PAGE}`)
  .optional()
  .transform((n) => n ?? 1)
  .meta({
    description: 'The page, from 1 (at most 1,000,000). Not a positive integer: 400.',
    override: integerText({ minimum: 1, maximum: MAX_PAGE, default: 1 }),
    param: { id: 'Page' },
  });

export interface PageLinks {
  first: number;
  prev?: number;
  next?: number;
  last: number;
}

/** Which pages the Link header names, for 1-based `page` of `total` items. */
export function pageLinks(page: number, total: number, size = PAGE_SIZE): PageLinks {
  const last = Math.max(1, Math.ceil(total / size));
  return {
    first: 1,
    ...(page > 1 ? { prev: Math.min(page - 1, last) } : {}),
    ...(page < last ? { next: page + 1 } : {}),
    last,
  };
}

/**
 * RFC 8288 Link header with absolute URLs. `prev` is also named `previous`, the rel the contract's
 * clients were written against. Every link carries `filters` (the route's own parameters, see
 * `linkQuery`), then its `page`.
 */
export function linkHeader(baseUrl: string, path: string, filters: LinkParams, links: PageLinks): string {
  const query = linkQuery(filters);
  const url = (page: number) => {
    const q = new URLSearchParams(query);
    q.set('page', String(page));
    return `${baseUrl}${path}?${q.toString()}`;
  };
  const parts = [`<${url(links.first)}>; rel="first"`];
  if (links.prev !== undefined) parts.push(`<${url(links.prev)}>; rel="prev previous"`);
  if (links.next !== undefined) parts.push(`<${url(links.next)}>; rel="next"`);
  parts.push(`<${url(links.last)}>; rel="last"`);
  return parts.join(', ');
}

/**
 * The headers of one page of a paginated list: `Link` (absolute URLs on `publicBaseUrl`, unset: the
 * request's host; the list's `filters` as the route parsed them, no other parameter) and
 * `X-Total-Count`.
 */
export function setPageHeaders(
  ctx: Context,
  publicBaseUrl: string | undefined,
  page: number,
  total: number,
  filters: LinkParams = {},
): void {
  ctx.set('Link', linkHeader(requestBaseUrl(ctx, publicBaseUrl), ctx.path, filters, pageLinks(page, total)));
  ctx.set('X-Total-Count', String(total));
}
