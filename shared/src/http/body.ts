import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { AppError, ValidationError } from '../errors.js';

/**
 * What reading a body can throw, as a client error: co-body and raw-body give most of theirs a
 * status (malformed JSON 400, too large 413, an unknown charset or Content-Encoding 415); zlib and
 * brotli give none to a body that is not the gzip/deflate/br its Content-Encoding says (found by
 * the attack suite: it was a 500). Anything else is ours, and stays a 500.
 */
function bodyError(err: unknown, contentEncoding: string): unknown {
  const e = err as { status?: unknown; errno?: unknown; message?: unknown };
  // co-body's JSON parser (@hapi/bourne) refuses a `__proto__` key anywhere in the body: a 400 that
  // names it like any other field a request may not carry (mass assignment, prototype pollution).
  if (e?.status === 400 && e.message === 'Object contains forbidden prototype property') {
    return new ValidationError('Invalid body.__proto__: a "__proto__" key is refused anywhere in a body', [
      { path: 'body.__proto__', message: 'is not a field of this request (refused anywhere in a body)' },
    ]);
  }
  const encoded = contentEncoding !== '' && contentEncoding.toLowerCase() !== 'identity';
  if (encoded && typeof e?.status !== 'number' && typeof e?.errno === 'number') {
    return new AppError(
      400,
      'BadRequestError',
      `The body could not be decoded as its Content-Encoding (${contentEncoding.slice(0, 40)}) says`,
      { cause: err },
    );
  }
  return err;
}

/** How deep a JSON body may nest (objects and arrays), by default. */
export const MAX_BODY_DEPTH = 64;

/**
 * Throws a 400 when `value` nests deeper than `max`. Iterative: it must not itself overflow the
 * stack on the 500,000-deep array a 1 MB body can hold, which JSON.parse reads happily and the
 * first recursive step after it (JSON.stringify, a schema) did not: a RangeError, a 500, found by
 * the attack suite.
 */
export function assertJsonDepth(value: unknown, max = MAX_BODY_DEPTH): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= max)
      throw new ValidationError(`The body nests deeper than ${max} levels`, [{ path: 'body', message: `nests deeper than ${max} levels` }]);
    for (const child of Array.isArray(node) ? node : Object.values(node))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
}

/**
 * JSON bodies only: a body of another type is a 415, malformed JSON a 400, one over `limit` a
 * 413, one that does not decompress as its Content-Encoding says a 400 (see bodyError), one that
 * nests deeper than `maxDepth` (64) a 400 (the problem middleware shapes them all).
 */
export function jsonBody(limit: string, options: { maxDepth?: number } = {}): Middleware {
  const maxDepth = options.maxDepth ?? MAX_BODY_DEPTH;
  const parse = bodyParser({
    enableTypes: ['json'],
    jsonLimit: limit,
    encoding: 'utf-8',
    onError: (err, ctx) => {
      throw bodyError(err, ctx.get('Content-Encoding'));
    },
  });
  return async function json(ctx, next) {
    if (ctx.request.length || ctx.get('Transfer-Encoding')) {
      if (!ctx.is('application/json', '+json')) {
        throw new AppError(415, 'UnsupportedMediaTypeError', 'Request bodies must be application/json');
      }
    }
    await parse(ctx, async () => {
      assertJsonDepth(ctx.request.body, maxDepth);
      await next();
    });
  };
}
