import { z } from 'zod';
import { answerHeaders, errors, integerText, requestIdParam, type ApiResponse } from './openapi-common.js';
import { buildOpenApiDocument } from './openapi.js';

/** How a document is composed from route tables: what every document gets, and the rules that shape the generated schemas. */

const thing = z.object({ id: z.int().min(1), note: z.string().nullable(), kind: z.enum(['a', 'b']).nullable() }).meta({ id: 'Thing' });
const answer: ApiResponse = { description: 'The thing.', headers: answerHeaders(), content: { 'application/json': { schema: thing } } };
const idParams = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{0,2}$/, 'must be a positive integer')
    .transform(Number)
    .meta({ override: integerText({ minimum: 1, maximum: 999 }) }),
});

function build() {
  return buildOpenApiDocument({
    info: { title: 'test-service', version: '1.0.0', description: 'A service.' },
    tags: [{ name: 'things' }],
    tokenScheme: 'token',
    securitySchemes: { token: { type: 'http', scheme: 'bearer' } },
    notFoundExample: 'Thing 7 not found',
    paths: {
      '/things/{id}': {
        get: {
          operationId: 'getThing',
          summary: 'A thing',
          parameters: [requestIdParam],
          requestParams: { path: idParams },
          responses: { '200': answer, ...errors(400, 401, 404) },
        },
      },
      '/public/things/{id}': {
        get: {
          operationId: 'getPublicThing',
          summary: 'A thing, without a token',
          security: [],
          requestParams: { path: idParams },
          responses: { '200': answer, ...errors(400, 404) },
        },
      },
    },
  });
}

describe('buildOpenApiDocument', () => {
  it('composes the limits in: a 429 and a 503 on every operation behind a credential, and the limits paragraph', () => {
    const document = build();
    const secured = document.paths['/things/{id}']!.get!.responses!;
    const open = document.paths['/public/things/{id}']!.get!.responses!;
    expect(Object.keys(secured).sort()).toEqual(['200', '400', '401', '404', '429', '503']);
    expect(Object.keys(open).sort()).toEqual(['200', '400', '404']);
    expect(document.components?.responses?.TooManyRequests).toBeDefined();
    expect(Object.keys(document.components?.headers ?? {})).toEqual(
      expect.arrayContaining(['RateLimit-Limit', 'Retry-After', 'X-Request-Id']),
    );
    expect(document.info.description).toMatch(/^A service\.\n\n\*\*Limits\.\*\*/);
  });

  it('adds the shared schemas and the operational and documentation routes', () => {
    const document = build();
    expect(Object.keys(document.components?.schemas ?? {})).toEqual(
      expect.arrayContaining(['Error', 'Issue', 'Health', 'Readiness', 'Thing']),
    );
    expect(Object.keys(document.paths).sort()).toEqual(
      ['/docs', '/docs/assets/{file}', '/healthz', '/metrics', '/openapi.json', '/public/things/{id}', '/readyz', '/things/{id}'].sort(),
    );
    expect(document.paths['/metrics']!.get!.security).toEqual([{ token: [] }, { metrics: [] }]);
  });

  it('shows a text parameter that stands for an integer as that integer', () => {
    const [param] = build().paths['/things/{id}']!.get!.parameters as unknown as Array<{ name: string; schema: Record<string, unknown> }>;
    expect(param).toMatchObject({ name: 'id', schema: { type: 'integer', minimum: 1, maximum: 999 } });
    expect(param!.schema).not.toHaveProperty('pattern');
  });

  it('writes a nullable plain type as a type list, and a nullable enum as anyOf (null must stay allowed)', () => {
    const properties = (build().components?.schemas?.Thing as { properties: Record<string, Record<string, unknown>> }).properties;
    expect(properties.note).toEqual({ type: ['string', 'null'] });
    expect(properties.kind).toEqual({ anyOf: [{ type: 'string', enum: ['a', 'b'] }, { type: 'null' }] });
  });

  it('is plain JSON: a response used by two operations is two objects', () => {
    const document = build();
    expect(document.paths['/things/{id}']!.get!.responses!['200']).not.toBe(document.paths['/public/things/{id}']!.get!.responses!['200']);
    expect(JSON.parse(JSON.stringify(document))).toEqual(document);
  });
});
