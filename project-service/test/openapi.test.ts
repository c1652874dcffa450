import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import supertest from 'supertest';
import { createLifecycle, DOCS_ASSET_NAMES } from '@hosting/shared';
import { appRouteOperations, documentOperations, loadContract, openApiDocumentProblems } from '@hosting/shared/testing';
import { openapiDocument } from '../src/openapi/document.js';
import { createApp, httpClient, logCapture, projectContract, specDir, testService, type TestService } from './helpers.js';

/**
 * The OpenAPI document of project-service: served without a token, a valid OpenAPI 3.1 document,
 * in step with the routes the app registers, a superset of the platform's contract; and the
 * documentation page with its assets. (That every response of the HTTP tests matches the
 * document is checked by the test client of helpers.ts, on every call of every test.)
 */
let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

/** Served by middleware in front of the router, not by router routes. */
const MIDDLEWARE_OPERATIONS = ['get /healthz', 'get /readyz', 'get /metrics', 'get /openapi.json', 'get /docs', 'get /docs/assets/{file}'];

describe('GET /openapi.json', () => {
  it('serves the document without a token, as JSON, revalidated by ETag', async () => {
    const res = await svc.call('get', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(res.body).toEqual(JSON.parse(JSON.stringify(openapiDocument)));
    expect(res.body.openapi).toBe('3.1.0');

    const again = await svc.call('get', '/openapi.json', { token: null, headers: { 'If-None-Match': res.headers.etag! } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(openapiDocument as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(() => validator.resolveRefs()).not.toThrow();
  });

  it('has strict JSON Schema 2020-12 schemas, unique operation ids, X-Request-Id and 401s declared', () => {
    expect(openApiDocumentProblems(openapiDocument)).toEqual([]);
  });

  it('documents every route the app registers, and nothing it does not serve', async () => {
    const routes = appRouteOperations(svc.app);
    const documented = documentOperations(openapiDocument);
    expect(routes.size).toBeGreaterThanOrEqual(9);
    expect([...routes].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((d) => !routes.has(d)).sort()).toEqual([...MIDDLEWARE_OPERATIONS].sort());
    // The operations served by middleware answer (a token for /metrics), so none is documented in vain.
    for (const operation of MIDDLEWARE_OPERATIONS) {
      const url = operation.slice('get '.length).replace('{file}', 'swagger-ui.css');
      const res = await svc.call('get', url);
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
    }
  });

  it('extends the platform contract: its paths, operation ids, security and fields are all there', () => {
    const platform = loadContract(path.join(specDir, 'project-api.yaml')).document;
    const ours = openapiDocument as unknown as Record<string, any>;
    const operations = [...documentOperations(platform)];
    expect(operations.length).toBe(7);
    for (const operation of operations) {
      const [method, p] = operation.split(' ') as [string, string];
      const theirs = platform.paths[p][method];
      const mine = ours.paths[p]?.[method];
      expect({ operation, operationId: mine?.operationId }).toEqual({ operation, operationId: theirs.operationId });
      const security = mine.security ?? ours.security;
      expect(security).toEqual(theirs.security);
      for (const status of Object.keys(theirs.responses))
        expect({ operation, status, listed: status in mine.responses }).toEqual({ operation, status, listed: true });
    }
    for (const name of ['Project', 'Deployment', 'Error']) {
      const theirs = platform.components.schemas[name];
      const mine = ours.components.schemas[name];
      expect(Object.keys(mine.properties)).toEqual(expect.arrayContaining(Object.keys(theirs.properties)));
      expect(mine.required).toEqual(expect.arrayContaining(theirs.required));
    }
    // The fields the platform's brief adds, nullable where a value comes later.
    expect(ours.components.schemas.Project.properties.url.type).toEqual(['string', 'null']);
    expect(ours.components.schemas.Deployment.properties.deployedIn.type).toEqual(['integer', 'null']);
    expect(Object.keys(ours.components.schemas.Project.properties)).toEqual(
      expect.arrayContaining(['userId', 'createdAt', 'hasOngoingDeployment']),
    );
    expect(Object.keys(ours.components.schemas.Deployment.properties)).toEqual(expect.arrayContaining(['projectId', 'updatedAt']));
  });

  it('describes the webhook: its own secret, the outcome header, the 409 and the state machine', () => {
    const webhook = (openapiDocument.paths['/deployment/webhook'] as Record<string, any>).post;
    expect(webhook.security).toEqual([{ webhook: [] }]);
    expect(webhook.responses['200'].headers['X-Webhook-Outcome'].schema.enum).toEqual(['apply', 'same', 'stale']);
    expect(webhook.responses['409']).toBeDefined();
    expect(webhook.description).toContain('pending → building → deploying → done');
  });

  it('answers HEAD like GET, without a body', async () => {
    const res = await supertest(svc.app.callback()).head('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.text ?? '').toBe('');
  });

  it('answers another method with a 405 naming GET and HEAD', async () => {
    const res = await svc.call('post', '/openapi.json', { token: null });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.body.name).toBe('MethodNotAllowedError');
  });
});

describe('the operational routes, as documented', () => {
  it('readiness is a documented 503 with Retry-After while shutting down; metrics take the metrics token', async () => {
    const lifecycle = createLifecycle();
    const app = createApp({
      db: svc.db,
      logger: logCapture().logger,
      lifecycle,
      config: { PROJECT_SERVICE_TOKEN: svc.token, PUBLIC_DOMAIN: 'example.app', METRICS_TOKEN: 'metrics-token-0123456789' },
    });
    const call = httpClient(app.callback(), projectContract(), svc.token);
    expect((await call('get', '/readyz', { token: null })).body).toEqual({ status: 'ready' });
    lifecycle.shuttingDown = true;
    const res = await call('get', '/readyz', { token: null });
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect((await call('get', '/healthz', { token: null })).status).toBe(200);
    expect((await call('get', '/metrics', { token: null })).status).toBe(401);
    const metrics = await call('get', '/metrics', { token: 'metrics-token-0123456789' });
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toContain('http_request_duration_seconds');
  });
});

describe('GET /docs', () => {
  it('serves the Swagger UI page without a token, pointing at the local assets and the document', async () => {
    const res = await svc.call('get', '/docs', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).toContain('<title>project-service</title>');
    expect(res.text).toContain('src="docs/assets/swagger-ui-bundle.js"');
    expect(res.text).toContain('href="docs/assets/swagger-ui.css"');
    expect(res.text).not.toMatch(/https?:\/\//); // nothing from a CDN
    const init = await svc.call('get', '/docs/assets/init.js', { token: null });
    expect(init.text).toContain('new URL("openapi.json", document.baseURI)');
    expect(init.text).toContain('validatorUrl: null'); // no call to swagger.io's validator
  });

  it('serves each asset with its content type and a day of caching', async () => {
    const types: Record<string, RegExp> = { js: /^application\/javascript/, css: /^text\/css/, png: /^image\/png$/ };
    for (const name of DOCS_ASSET_NAMES) {
      const res = await svc.call('get', `/docs/assets/${name}`, { token: null });
      expect({ name, status: res.status }).toEqual({ name, status: 200 });
      expect(res.headers['content-type']).toMatch(types[name.split('.').pop()!]!);
      expect(res.headers['cache-control']).toBe('public, max-age=86400');
      expect(Number(res.headers['content-length'])).toBeGreaterThan(100);
    }
    const bundle = await supertest(svc.app.callback()).get('/docs/assets/swagger-ui-bundle.js');
    expect(bundle.text).toContain('SwaggerUIBundle');
  });

  it('serves no other file, whatever the path says', async () => {
    const attempts = [
      '/docs/assets/index.html', // in the package, not on the list
      '/docs/assets/package.json',
      '/docs/assets/swagger-ui-bundle.js.map',
      '/docs/assets/../../package.json',
      '/docs/assets/..%2F..%2Fpackage.json',
      '/docs/assets/%2e%2e/%2e%2e/package.json',
      '/docs/assets/',
      '/docs/assets/swagger-ui.css/',
      '/docs/assets/constructor',
      '/docs/assets/__proto__',
      '/docs/other',
    ];
    for (const url of attempts) {
      const res = await svc.call('get', url, { token: null });
      expect({ url, status: res.status }).toEqual({ url, status: 404 });
      expect(res.body.name).toBe('NotFoundError');
    }
  });

  it("sends /docs/ to /docs, where the page's relative URLs work", async () => {
    const res = await supertest(svc.app.callback()).get('/docs/');
    expect(res.status).toBe(301);
    expect(res.headers.location).toBe('../docs');
    expect(new URL(res.headers.location!, 'http://host/docs/').pathname).toBe('/docs');
  });
});
