import type { Middleware } from 'koa';
import type { z } from 'zod';
import { adminOnly } from '../http/scope.js';
import type { AppRouter } from '../http/types.js';
import type { outboxStatusSchema } from './outbox.schema.js';
import type { OutboxService } from './outbox.service.js';

/**
 * `GET /outbox/status` (admin): what delivery to the aggregator looks like right now: how many
 * events wait, how old the oldest is, the most attempts any of them has had and the last error.
 * Not for a user's token (a 404, as for a route that does not exist).
 */
export function registerOutboxRoutes(router: AppRouter, deps: { auth: Middleware; outbox: OutboxService }) {
  router.get('/outbox/status', deps.auth, adminOnly, async (ctx) => {
    const s = await deps.outbox.status();
    ctx.body = {
      undelivered: s.undelivered,
      oldestUndeliveredAt: s.oldestUndeliveredAt?.toISOString() ?? null,
      oldestUndeliveredAgeSeconds: Math.round(s.oldestUndeliveredAgeSeconds),
      maxAttempts: s.maxAttempts,
      lastError: s.lastError,
    } satisfies z.infer<typeof outboxStatusSchema>;
  });
}
