import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Validates responses against an OpenAPI document, so that drift from the contract fails a test.
 * A response whose status the document lists for the operation is checked against that schema;
 * an error status it does not list (our 400/409/413/415/405…) against the document's `Error`
 * schema, which every error body must satisfy; a path the document does not have is reported.
 */
type Json = Record<string, any>;

export interface Contract {
  document: Json;
  /** Throws with the reasons when the response does not satisfy the document. */
  check(method: string, path: string, status: number, body: unknown, contentType?: string): void;
}

function templateToRegex(template: string): RegExp {
  return new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
}

export function loadContract(
  file: string,
  options: {
    patch?: (doc: Json) => void;
    /** Our paths that stand for one of the document's (regex → document path). */
    aliases?: Record<string, string>;
    /** Our own paths that the document does not have: only their error bodies are checked. */
    extensions?: string[];
  } = {},
): Contract {
  const document = parse(readFileSync(file, 'utf8')) as Json;
  options.patch?.(document);
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'doc', components: document.components }, 'doc');
  const rewrite = (schema: unknown): unknown =>
    JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/'));
  const cache = new Map<string, ValidateFunction>();
  const compile = (key: string, schema: unknown) => {
    let fn = cache.get(key);
    if (!fn) {
      fn = ajv.compile(rewrite(schema) as object);
      cache.set(key, fn);
    }
    return fn;
  };
  const paths = Object.keys(document.paths as Json).map((p) => ({ template: p, regex: templateToRegex(p) }));
  const errorSchema = document.components?.schemas?.Error;

  return {
    document,
    check(method, rawPath, status, body, contentType) {
      const path = rawPath.split('?')[0]!;
      const aliased = Object.entries(options.aliases ?? {}).reduce((p, [from, to]) => p.replace(new RegExp(from), to), path);
      const match = paths.find((p) => p.regex.test(aliased));
      if (!match) {
        // Unknown routes and our own extensions must still answer errors in the contract's shape.
        if (status >= 400) return checkError(status, path);
        if (options.extensions?.some((e) => new RegExp(e).test(path))) return;
        throw new Error(`${method} ${path}: no such path in the contract`);
      }
      const operation = (document.paths as Json)[match.template][method.toLowerCase()] as Json | undefined;
      if (!operation) {
        if (status === 405 || status === 404) return checkError(status, match.template);
        throw new Error(`${method} ${match.template}: no such operation in the contract`);
      }
      const response = (operation.responses as Json)[String(status)] as Json | undefined;
      if (!response) return checkError(status, match.template);
      const schema = response.content?.['application/json']?.schema;
      if (!schema) return;
      if (contentType && !/^application\/(problem\+)?json/.test(contentType)) {
        throw new Error(`${method} ${match.template} ${status}: content type ${contentType}, the contract says application/json`);
      }
      const validate = compile(`${method} ${match.template} ${status}`, schema);
      if (!validate(body)) {
        throw new Error(`${method} ${match.template} ${status}: body does not match the contract: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
      }

      function checkError(code: number, where: string) {
        if (code < 400) throw new Error(`${method} ${where}: status ${code} is not in the contract`);
        const validate = compile('Error', errorSchema);
        if (!validate(body)) throw new Error(`${method} ${where} ${code}: error body does not match the contract's Error: ${ajv.errorsText(validate.errors)}`);
      }
    },
  };
}
