import type { Middleware } from 'koa';
import { AppError, UnauthorizedError, type RequestState } from '@hosting/shared';
import type { Owner } from '../domain.js';

export type { Owner } from '../domain.js';

export function ownerOf(state: RequestState): Owner {
  const principal = state.principal;
  if (!principal) throw new UnauthorizedError(); // a route without authentication: fail closed
  switch (principal.kind) {
    case 'service':
    case 'admin':
      return undefined;
    case 'user':
      return principal.userId;
    default:
      // A project's app secret authenticates the webhook only.
      throw new UnauthorizedError();
  }
}

/**
 * For operator routes (outbox status, busy projects, secret rotation): a user's token gets the
 * 404 of a route that does not exist, exactly as the error middleware words it.
 */
export const adminOnly: Middleware<RequestState> = async (ctx, next) => {
  if (ownerOf(ctx.state) !== undefined) throw new AppError(404, 'NotFoundError', `No route for ${ctx.method} ${ctx.path}`);
  await next();
};
