import cors from '@koa/cors';
import type { Middleware } from 'koa';

/**
 * CORS for the admin panel: only the listed origins (comma-separated) get CORS headers; with
 * none listed, none do. Exposes the headers a browser client needs to page, trace, back off
 * (Retry-After, RateLimit-*) and tell a replayed creation (Idempotent-Replayed).
 */
export function corsFor(origins: string): Middleware {
  const allowed = new Set(
    origins
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  );
  return cors({
    origin: (ctx) => {
      const origin = ctx.get('Origin');
      return allowed.has(origin) ? origin : '';
    },
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Idempotency-Key'],
    exposeHeaders: [
      'Link',
      'X-Total-Count',
      'X-Request-Id',
      'X-Webhook-Outcome',
      'Location',
      'Retry-After',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
      'RateLimit-Policy',
      'Idempotent-Replayed',
    ],
    maxAge: 600,
  });
}
