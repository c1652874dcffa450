/** Helpers for the top-level tests that run the services as their own processes. */

/** Polls `GET /healthz` on 127.0.0.1:`port` every 100 ms until it answers 2xx; throws after 15 s. */
export async function waitUntilUp(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers on ${port}`);
}
