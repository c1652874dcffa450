import { rmSync } from 'node:fs';

/** Stops the run's embedded PostgreSQL (started by global-setup.ts) and removes its folder. */
export default async function globalTeardown(): Promise<void> {
  const state = globalThis.__TEST_PG__;
  await state?.server?.stop();
  if (state?.dir) rmSync(state.dir, { recursive: true, force: true });
}
