import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Validates responses against an OpenAPI document, so that drift from the document fails a test.
 *
 * - OpenAPI 3.0 documents (the platform's contract) have draft-07-like schemas: checked with Ajv.
 *   OpenAPI 3.1 documents (our own) have JSON Schema 2020-12 schemas: checked with Ajv2020.
 * - A response whose status the operation lists is checked against that response: its JSON body
 *   against the schema of its media type, its headers against the documented headers (a required
 *   one must be there).
 * - An error status the operation does not list is checked against the document's `Error` schema,
 *   unless `strict`: then an undocumented status is itself a failure, and so is a content type the
 *   response does not document. Use `strict` for a service's own document, which must say everything.
 * - A path the document does not have is reported (errors there must still have the `Error` shape).
 */
type Json = Record<string, any>;

export interface Contract {
  document: Json;
  /** Throws with the reasons when the response does not satisfy the document. */
  check(
    method: string,
    path: string,
    status: number,
    body: unknown,
    contentType?: string,
    headers?: Record<string, string | string[] | undefined>,
  ): void;
}

export interface ContractOptions {
  patch?: (doc: Json) => void;
  /** Our paths that stand for one of the document's (regex → document path). */
  aliases?: Record<string, string>;
  /** Our own paths that the document does not have: only their error bodies are checked. */
  extensions?: string[];
  /** The document must list every status, header and content type the service answers with. */
  strict?: boolean;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function templateToRegex(template: string): RegExp {
  const parts = template.split(/(\{[^}]+\})/).map((part) => (/^\{[^}]+\}$/.test(part) ? '[^/]+' : escapeRegex(part)));
  return new RegExp(`^${parts.join('')}$`);
}

/** `application/json; charset=utf-8` → `application/json`. */
function mediaType(contentType: string | undefined): string | undefined {
  return contentType?.split(';')[0]?.trim().toLowerCase() || undefined;
}

/** Reads an OpenAPI document from a YAML or JSON file, or takes (a copy of) one already loaded. */
function readDocument(source: string | object): Json {
  if (typeof source === 'string') return parse(readFileSync(source, 'utf8')) as Json;
  return structuredClone(source);
}

export function loadContract(source: string | object, options: ContractOptions = {}): Contract {
  const document = readDocument(source);
  options.patch?.(document);
  const version = String(document.openapi ?? '');
  if (!/^3\.[01]\./.test(version)) throw new Error(`Unsupported OpenAPI version "${version}": 3.0.x and 3.1.x are`);
  const is31 = version.startsWith('3.1.');
  const makeAjv = (coerceTypes: boolean) => {
    // strict: false lets OpenAPI's own keywords (`example`, `nullable`, `discriminator`…) through.
    const ajv = is31
      ? new Ajv2020({ strict: false, allErrors: true, coerceTypes })
      : new Ajv({ strict: false, allErrors: true, coerceTypes });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'doc', components: document.components ?? {} }, 'doc');
    return ajv;
  };
  const ajv = makeAjv(false);
  /** Header values are text; the coercing instance reads `"5"` as the integer 5. */
  const headerAjv = makeAjv(true);
  const rewrite = (schema: unknown): object =>
    JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/')) as object;
  const cache = new Map<string, ValidateFunction>();
  const compile = (key: string, schema: unknown, header = false) => {
    const cacheKey = `${header ? 'header ' : ''}${key}`;
    let fn = cache.get(cacheKey);
    if (!fn) {
      fn = header ? headerAjv.compile({ type: 'object', properties: { value: rewrite(schema) } }) : ajv.compile(rewrite(schema));
      cache.set(cacheKey, fn);
    }
    return fn;
  };
  /** Follows a local `$ref` (`#/components/responses/NotFound`) of a response, header or request body. */
  const resolve = (value: Json | undefined): Json | undefined => {
    let current = value;
    for (let hops = 0; current && typeof current.$ref === 'string' && hops < 10; hops++) {
      const pointer = current.$ref;
      if (!pointer.startsWith('#/')) throw new Error(`Only local references are supported: ${pointer}`);
      current = pointer
        .slice(2)
        .split('/')
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce<Json | undefined>((node, key) => node?.[key], document);
      if (!current) throw new Error(`Unresolved reference ${pointer}`);
    }
    return current;
  };
  // Concrete paths before templated ones, so `/events/stats` would win over `/events/{id}`.
  const paths = Object.keys((document.paths ?? {}) as Json)
    .map((p) => ({ template: p, regex: templateToRegex(p), params: (p.match(/\{/g) ?? []).length }))
    .sort((a, b) => a.params - b.params);
  const errorSchema = document.components?.schemas?.Error;
  const strict = options.strict ?? false;

  return {
    document,
    check(method, rawPath, status, body, contentType, headers) {
      const path = rawPath.split('?')[0]!;
      const verb = method.toLowerCase();
      const aliased = Object.entries(options.aliases ?? {}).reduce((p, [from, to]) => p.replace(new RegExp(from), to), path);
      // Our own literal paths (extensions) win over a template of the document that also matches
      // them (`/deployments/stream` is not `/deployments/{id}`).
      const extension = options.extensions?.some((e) => new RegExp(e).test(path)) ?? false;
      const match = extension ? undefined : paths.find((p) => p.regex.test(aliased));
      if (!match) {
        // Unknown routes and our own extensions must still answer errors in the contract's shape.
        if (status >= 400) return checkError(status, path);
        if (options.extensions?.some((e) => new RegExp(e).test(path))) return;
        throw new Error(`${method} ${path}: no such path in the contract`);
      }
      const item = (document.paths as Json)[match.template] as Json;
      // HEAD answers like GET, without a body.
      const operation = (item[verb] ?? (verb === 'head' ? item.get : undefined)) as Json | undefined;
      if (!operation) {
        if (status === 405 || status === 404) return checkError(status, match.template);
        throw new Error(`${method} ${match.template}: no such operation in the contract`);
      }
      const responses = (operation.responses ?? {}) as Json;
      const where = `${method} ${match.template} ${status}`;
      const response = resolve(responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default);
      if (!response) {
        if (strict) throw new Error(`${where}: the document does not list status ${status} for this operation`);
        return checkError(status, match.template);
      }
      checkHeaders(response, where);
      if (verb === 'head' || status === 204 || status === 304) return;
      const content = response.content as Json | undefined;
      if (!content) return;
      const actual = mediaType(contentType);
      let media = actual ? (content[actual] as Json | undefined) : (content['application/json'] as Json | undefined);
      if (!media && actual === 'application/problem+json' && !strict) media = content['application/json'] as Json | undefined;
      if (!media) {
        throw new Error(`${where}: content type ${contentType ?? '(none)'}, the document says ${Object.keys(content).join(' or ')}`);
      }
      if (!actual || !/^application\/(.+\+)?json$/.test(actual)) return; // text, html, css, images: the type is the check
      if (!media.schema) return;
      const validate = compile(`${where} ${actual}`, media.schema);
      if (!validate(body)) {
        throw new Error(
          `${where}: body does not match the contract: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`,
        );
      }

      function checkHeaders(res: Json, at: string) {
        if (!headers) return;
        const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
        for (const [name, declared] of Object.entries((res.headers ?? {}) as Json)) {
          if (name.toLowerCase() === 'content-type') continue; // described by `content`, ignored here by the spec
          const header = resolve(declared as Json)!;
          const raw = lower.get(name.toLowerCase());
          const value = Array.isArray(raw) ? raw.join(', ') : raw;
          if (value === undefined) {
            if (header.required) throw new Error(`${at}: header ${name} is required by the document and missing`);
            continue;
          }
          if (!header.schema) continue;
          const validate = compile(`${at} header ${name}`, header.schema, true);
          if (!validate({ value })) {
            throw new Error(
              `${at}: header ${name}: ${JSON.stringify(value)} does not match the document: ${headerAjv.errorsText(validate.errors)}`,
            );
          }
        }
      }

      function checkError(code: number, at: string) {
        if (code < 400) throw new Error(`${method} ${at}: status ${code} is not in the contract`);
        if (!errorSchema) throw new Error(`${method} ${at} ${code}: the document has no Error schema to check the body with`);
        const validate = compile('Error', errorSchema);
        if (!validate(body))
          throw new Error(`${method} ${at} ${code}: error body does not match the contract's Error: ${ajv.errorsText(validate.errors)}`);
      }
    },
  };
}

/** One contract made of several: a response must satisfy each (e.g. the platform's and the service's own). */
export function combineContracts(primary: Contract, ...others: Contract[]): Contract {
  return {
    document: primary.document,
    check(...args) {
      primary.check(...args);
      for (const other of others) other.check(...args);
    },
  };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** `get /projects/{id}` for every operation of an OpenAPI document. */
export function documentOperations(document: Json): Set<string> {
  const found = new Set<string>();
  for (const [path, item] of Object.entries((document.paths ?? {}) as Json)) {
    for (const method of METHODS) if ((item as Json)[method]) found.add(`${method} ${path}`);
  }
  return found;
}

interface RouterLike {
  stack: Array<{ path: string | RegExp; methods: string[] }>;
}

/**
 * `get /projects/{id}` for every route the @koa/router routers of a Koa app register (found
 * among its middleware; HEAD, which the router adds to each GET, is left out). Paths of
 * middleware that answer by themselves (health, docs…) are not routes and are not listed.
 */
export function appRouteOperations(app: { middleware: unknown[] }): Set<string> {
  const found = new Set<string>();
  for (const mw of app.middleware) {
    const router = (mw as { router?: RouterLike }).router;
    if (!router) continue;
    for (const layer of router.stack) {
      if (typeof layer.path !== 'string') continue;
      const path = layer.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      for (const method of layer.methods) if (method !== 'HEAD') found.add(`${method.toLowerCase()} ${path}`);
    }
  }
  return found;
}

/**
 * Every problem of an OpenAPI 3.1 document that a schema validator of the OpenAPI specification
 * does not see: each component schema must compile as JSON Schema 2020-12 under Ajv's strict mode
 * (a misspelt keyword fails), each example must satisfy its schema, each operation id must be unique, each response must declare
 * `X-Request-Id`, and each operation behind a token must list its 401. Empty when all is well.
 */
export function openApiDocumentProblems(document: Json): string[] {
  const problems: string[] = [];
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats.default(ajv);
  // Schemas refer to each other as `#/components/schemas/X`: here they are `$defs` of one schema.
  const schemas = (document.components?.schemas ?? {}) as Json;
  ajv.addSchema(JSON.parse(JSON.stringify({ $id: 'doc', $defs: schemas }).replace(/"#\/components\/schemas\//g, '"doc#/$defs/')) as object);
  for (const name of Object.keys(schemas)) {
    try {
      ajv.compile({ $ref: `doc#/$defs/${name.replace(/~/g, '~0').replace(/\//g, '~1')}` });
    } catch (err) {
      problems.push(`components.schemas.${name}: ${(err as Error).message}`);
    }
  }
  // Examples must satisfy their schemas: the examples of each component schema, and of each media type.
  const checkExample = (where: string, schema: unknown, example: unknown) => {
    try {
      const validate = ajv.compile(JSON.parse(JSON.stringify(schema).replace(/"#\/components\/schemas\//g, '"doc#/$defs/')) as object);
      if (!validate(example)) problems.push(`${where}: example does not match its schema: ${ajv.errorsText(validate.errors)}`);
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
    }
  };
  for (const [name, schema] of Object.entries(schemas)) {
    for (const [i, example] of ((schema as Json).examples ?? []).entries())
      checkExample(`components.schemas.${name}.examples[${i}]`, { $ref: `#/components/schemas/${name}` }, example);
  }
  const checkMedia = (where: string, content: Json | undefined) => {
    for (const [type, media] of Object.entries(content ?? {})) {
      const m = media as Json;
      if (m.schema && m.example !== undefined) checkExample(`${where} ${type}`, m.schema, m.example);
    }
  };
  const resolve = (value: Json): Json => {
    const pointer = value?.$ref as string | undefined;
    if (!pointer) return value;
    const target = pointer
      .slice(2)
      .split('/')
      .reduce<Json | undefined>((node, key) => node?.[key], document);
    if (!target) throw new Error(`unresolved ${pointer}`);
    return resolve(target);
  };
  const ids = new Map<string, string>();
  for (const operation of documentOperations(document)) {
    const [method, path] = operation.split(' ') as [string, string];
    const op = document.paths[path][method] as Json;
    if (!op.operationId) problems.push(`${operation}: no operationId`);
    else if (ids.has(op.operationId)) problems.push(`${operation}: operationId ${op.operationId} is also ${ids.get(op.operationId)}'s`);
    else ids.set(op.operationId, operation);
    if (!op.description && !op.summary) problems.push(`${operation}: no summary or description`);
    const security = (op.security ?? document.security ?? []) as Json[];
    const secured = security.length > 0 && security.every((requirement) => Object.keys(requirement).length > 0);
    if (op.requestBody) checkMedia(`${operation} request`, resolve(op.requestBody as Json).content);
    if (secured && !op.responses?.['401']) problems.push(`${operation}: takes a token but lists no 401`);
    for (const [status, response] of Object.entries((op.responses ?? {}) as Json)) {
      try {
        const resolved = resolve(response as Json);
        checkMedia(`${operation} ${status}`, resolved.content);
        const headers = Object.keys((resolved.headers ?? {}) as Json).map((h) => h.toLowerCase());
        if (!headers.includes('x-request-id')) problems.push(`${operation} ${status}: does not declare X-Request-Id`);
      } catch (err) {
        problems.push(`${operation} ${status}: ${(err as Error).message}`);
      }
    }
  }
  return problems;
}
