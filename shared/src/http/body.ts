import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { AppError } from '../errors.js';

/**
 * JSON bodies only: a body of another type is a 415, malformed JSON a 400, one over `limit` a
 * 413 (co-body raises both with their status; the problem middleware shapes them).
 */
export function jsonBody(limit: string): Middleware {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: limit, encoding: 'utf-8' });
  return async function json(ctx, next) {
    if (ctx.request.length || ctx.get('Transfer-Encoding')) {
      if (!ctx.is('application/json', '+json')) {
        throw new AppError(415, 'UnsupportedMediaTypeError', 'Request bodies must be application/json');
      }
    }
    await parse(ctx, next);
  };
}
