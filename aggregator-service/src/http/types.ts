import type {} from '@koa/bodyparser'; // its augmentation: ctx.request.body
import type Router from '@koa/router';
import type { RequestState } from '@hosting/shared';

/** The router type of this service's features. */
export type AppRouter = Router<RequestState>;
