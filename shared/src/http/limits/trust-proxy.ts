/** X-Forwarded-For counts only with `TRUST_PROXY` > 0, and then only its last `TRUST_PROXY` entries (those our proxies wrote). */
export function trustProxy(app: { proxy: boolean; maxIpsCount: number }, hops: number): void {
  app.proxy = hops > 0;
  app.maxIpsCount = hops;
}
