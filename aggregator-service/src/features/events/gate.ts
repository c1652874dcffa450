import type { Middleware } from 'koa';

/** A first-in, first-out gate: at most `limit` requests past it at once; the others wait their turn. */
export function gate(limit: number): Middleware {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async function admit(_ctx, next) {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      await next();
    } finally {
      // The slot passes straight to the next in line, or is freed.
      const following = waiting.shift();
      if (following) following();
      else active--;
    }
  };
}
