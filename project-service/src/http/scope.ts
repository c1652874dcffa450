import type { Middleware } from 'koa';
import { AppError, UnauthorizedError, type RequestState } from '@hosting/shared';

/**
 * Whose data a request may see and change: `undefined` for everyone's (the service token, an
 * admin token), a user id for a user's token. Repositories take it as an optional owner filter in
 * their SQL, so another user's row is simply not found: the same 404, byte for byte, as a missing
 * one (no 403 to tell a guesser that the id exists).
 */
export type Owner = number | undefined;

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
