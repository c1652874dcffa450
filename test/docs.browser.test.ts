import { existsSync, mkdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createAggregatorService, loadConfig as loadAggregatorConfig } from '@hosting/aggregator-service';
import { createProjectService, loadConfig as loadProjectConfig } from '@hosting/project-service';
import { createLogger } from '@hosting/shared';
import { createTestDatabase, type TestDatabase } from '@hosting/shared/testing';

/**
 * The documentation page of each service, in a real browser: headless Chromium opens /docs of
 * the running app, Swagger UI renders the service's own document from its own assets (any request
 * to another host is blocked and fails the test), lists the operations, and can call a route.
 * A screenshot of each lands in test-artifacts/docs-<service>.png.
 *
 * Needs Chromium at /usr/bin/chromium (Debian: `apt-get install -y chromium`); without it the
 * test is skipped with a warning.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(
    `docs.browser.test.ts skipped: no Chromium at ${CHROMIUM}. Install it (Debian/Ubuntu: apt-get install -y chromium) or set CHROMIUM_PATH.`,
  );
}
const maybe = haveChromium ? describe : describe.skip;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = path.join(root, 'test-artifacts');

interface Running {
  base: string;
  close(): Promise<void>;
}

/** The app on a free port of 127.0.0.1, as `main.ts` would run it. */
async function serve(app: Pick<Koa, 'listen'>, database: TestDatabase): Promise<Running> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.drop();
    },
  };
}

/** What went wrong in the page: script errors, console errors (CSP violations among them), requests that failed or left the host. */
function watch(page: Page, base: string) {
  const problems: string[] = [];
  const origin = new URL(base).origin;
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} (${req.failure()?.errorText ?? '?'})`));
  return { problems, origin };
}

async function openDocs(browser: Browser, service: string, base: string, paths: string[]) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const external: string[] = [];
  // Nothing but the service itself: no CDN, no validator badge, no fonts from elsewhere.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${base}/`) || url.startsWith('data:')) return route.continue();
    external.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  const { problems } = watch(page, base);
  const response = await page.goto(`${base}/docs`, { waitUntil: 'load' });
  expect(response?.status()).toBe(200);
  // Swagger UI has fetched /openapi.json and rendered an operation block per operation.
  await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });
  await expect(page.locator('.info .title').first().textContent()).resolves.toContain(service);
  const listed = await page.locator('.opblock-summary-path').allTextContents();
  const normalized = listed.map((t) => t.replace(/\u200b/g, '').trim());
  for (const p of paths) expect({ path: p, listed: normalized.includes(p) }).toEqual({ path: p, listed: true });
  // The bearer schemes are there to authorize with.
  await expect(page.locator('.auth-wrapper .authorize').count()).resolves.toBeGreaterThan(0);
  return { context, page, problems, external, listed: normalized };
}

/** Expands GET /healthz, presses "Try it out" and "Execute": the page can call the service it documents. */
async function tryHealthz(page: Page) {
  const op = page.locator('#operations-operations-getHealth');
  await op.locator('.opblock-summary').click();
  await op.locator('.try-out__btn').click();
  await op.locator('.execute').click();
  const status = op.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor({ timeout: 10_000 });
  expect((await status.textContent())?.trim()).toBe('200');
  await expect(op.locator('.live-responses-table .microlight').first().textContent()).resolves.toContain('"status": "ok"');
}

async function screenshot(page: Page, service: string) {
  mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `docs-${service}.png`);
  await page.screenshot({ path: file, fullPage: true });
  expect(statSync(file).size).toBeGreaterThan(10_000);
}

maybe('the /docs page in headless Chromium', () => {
  let browser: Browser;
  let project: Running;
  let aggregator: Running;

  beforeAll(async () => {
    const logger = createLogger({ level: 'silent' });
    const [projectDb, aggregatorDb] = await Promise.all([createTestDatabase('project'), createTestDatabase('aggregator')]);
    project = await serve(
      createProjectService(
        loadProjectConfig({
          PROJECT_SERVICE_TOKEN: 'docs-test-token-0123456789',
          PROJECT_DATABASE_URL: projectDb.url,
          AGGREGATOR_SERVICE_TOKEN: 'docs-test-aggregator-0123456789',
          PUBLIC_DOMAIN: 'example.app',
        }),
        { db: projectDb.db, logger },
      ).app,
      projectDb,
    );
    aggregator = await serve(
      createAggregatorService(
        loadAggregatorConfig({ AGGREGATOR_SERVICE_TOKEN: 'docs-test-token-9876543210', AGGREGATOR_DATABASE_URL: aggregatorDb.url }),
        { db: aggregatorDb.db, logger },
      ).app,
      aggregatorDb,
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([project?.close(), aggregator?.close()]);
  });

  it("renders project-service's operations from its own assets, and can call one", async () => {
    const { context, page, problems, external, listed } = await openDocs(browser, 'project-service', project.base, [
      '/projects',
      '/projects/{id}',
      '/projects/{id}/deployment',
      '/projects/{id}/deployments',
      '/deployments',
      '/deployments/{id}',
      '/deployments/{id}/cancel',
      '/deployment/webhook',
      '/outbox/status',
      '/ops/busy-projects',
      '/healthz',
      '/readyz',
      '/metrics',
    ]);
    try {
      expect(listed.length).toBeGreaterThanOrEqual(16);
      // The webhook's description renders, state machine table included.
      const webhook = page.locator('#operations-deployment-deploymentStatusUpdate');
      await webhook.locator('.opblock-summary').click();
      await webhook.locator('.opblock-description-wrapper table').waitFor({ timeout: 10_000 });
      await expect(webhook.textContent()).resolves.toContain('X-Webhook-Outcome');
      await tryHealthz(page);
      await screenshot(page, 'project-service');
      expect(external).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it("renders aggregator-service's operations from its own assets, and can call one", async () => {
    const { context, page, problems, external, listed } = await openDocs(browser, 'aggregator-service', aggregator.base, [
      '/events',
      '/events/{id}',
      '/healthz',
      '/readyz',
      '/metrics',
    ]);
    try {
      expect(listed.filter((p) => p === '/events')).toHaveLength(2); // POST and GET
      await tryHealthz(page);
      await screenshot(page, 'aggregator-service');
      expect(external).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);
});
