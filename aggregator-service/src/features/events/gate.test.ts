import type { Context } from 'koa';
import { gate } from './gate.js';

it('lets at most `limit` through at once, in arrival order, and frees the slot on failure too', async () => {
  const admit = gate(2);
  let inside = 0;
  let most = 0;
  const order: number[] = [];
  const releases: Array<() => void> = [];
  const runs = Array.from({ length: 6 }, (_, i) =>
    admit({} as Context, async () => {
      order.push(i);
      most = Math.max(most, ++inside);
      await new Promise<void>((resolve) => releases.push(resolve));
      inside--;
      if (i === 1) throw new Error('handler failed');
    }).catch(() => 'failed'),
  );
  const settle = () => new Promise((r) => setImmediate(r));
  await settle();
  expect(order).toEqual([0, 1]);
  while (releases.length) {
    releases.shift()!();
    await settle();
  }
  await settle();
  expect(await Promise.all(runs)).toEqual([undefined, 'failed', undefined, undefined, undefined, undefined]);
  expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  expect(most).toBe(2);
});
