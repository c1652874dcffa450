import type {} from '@koa/bodyparser'; // its augmentation: ctx.request.body
import type Router from '@koa/router';
import type { RequestState } from '@hosting/shared';
import type { Cause } from '../domain.js';

export type AppRouter = Router<RequestState>;
export type AppContext = Parameters<Parameters<AppRouter['get']>[2]>[0];

/** What every change records about the request that caused it. */
export function causeOf(ctx: { state: RequestState }, source: Cause['source']): Cause {
  return { source, requestId: ctx.state.requestId };
}
