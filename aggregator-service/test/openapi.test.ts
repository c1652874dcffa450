import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { EVENT_NAMES } from '@hosting/shared';
import { appRouteOperations, documentOperations, openApiDocumentProblems } from '@hosting/shared/testing';
import { openapiDocument } from '../src/openapi/document.js';
import { deploymentCreated, testService, uniqueId, type TestService } from './helpers.js';

/**
 * The OpenAPI document of aggregator-service: served without a token, a valid OpenAPI 3.1 document,
 * in step with the routes the app registers and with the event catalogue. (That every response of
 * the HTTP tests matches it is checked by the test client of helpers.ts, on every call.)
 */
let svc: TestService;
beforeAll(async () => {
  svc = await testService();
});
afterAll(() => svc.close());

const MIDDLEWARE_OPERATIONS = ['get /healthz', 'get /readyz', 'get /metrics', 'get /openapi.json', 'get /docs', 'get /docs/assets/{file}'];

describe('GET /openapi.json', () => {
  it('serves the document without a token', async () => {
    const res = await svc.call('get', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(openapiDocument)));
    expect(res.body.info.title).toBe('aggregator-service');
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(openapiDocument as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has strict JSON Schema 2020-12 schemas, unique operation ids, X-Request-Id and 401s declared', () => {
    expect(openApiDocumentProblems(openapiDocument)).toEqual([]);
  });

  it('documents every route the app registers, and nothing it does not serve', async () => {
    const routes = appRouteOperations(svc.app);
    const documented = documentOperations(openapiDocument);
    expect([...routes].sort()).toEqual([
      'get /events',
      'get /events/export',
      'get /events/{id}',
      'get /projects/{id}/activity',
      'post /events',
    ]);
    expect([...routes].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((d) => !routes.has(d)).sort()).toEqual([...MIDDLEWARE_OPERATIONS].sort());
    for (const operation of MIDDLEWARE_OPERATIONS) {
      const url = operation.slice('get '.length).replace('{file}', 'swagger-ui-bundle.js');
      const res = await svc.call('get', url);
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
    }
  });

  it('describes each event of the catalogue with the schema the code validates with', async () => {
    const schemas = (openapiDocument.components?.schemas ?? {}) as Record<string, any>;
    const conditions = schemas.EventEnvelope.allOf.map((c: any) => c.if.properties.name.const);
    expect(conditions).toEqual(EVENT_NAMES);
    // What the document accepts as an envelope, the service stores; what it refuses, the service refuses.
    const good = deploymentCreated({ projectId: uniqueId() });
    const bad = deploymentCreated({}, { payload: { status: 'building' } });
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'doc', components: openapiDocument.components }, 'doc');
    const validate = ajv.compile({ $ref: 'doc#/components/schemas/EventEnvelope' });
    expect(validate(good)).toBe(true);
    expect(validate(bad)).toBe(false);
    expect((await svc.call('post', '/events', { body: good })).status).toBe(200);
    expect((await svc.call('post', '/events', { body: bad })).status).toBe(400);
  });
});

describe('GET /docs', () => {
  it('serves the Swagger UI page without a token', async () => {
    const res = await svc.call('get', '/docs', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toContain('<title>aggregator-service</title>');
    expect(res.text).toContain('src="docs/assets/swagger-ui-bundle.js"');
  });

  it('serves no file outside its list', async () => {
    for (const url of ['/docs/assets/index.html', '/docs/assets/../../package.json', '/docs/assets/swagger-initializer.js']) {
      const res = await svc.call('get', url, { token: null });
      expect({ url, status: res.status }).toEqual({ url, status: 404 });
    }
  });
});
