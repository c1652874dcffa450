import { documentOperations } from '../contract.js';

/**
 * Reading an OpenAPI document: its operations (path, query and header parameters, the JSON body
 * and the security schemes each takes) and the fields a body schema declares. The only part of
 * the attack suite that knows the document's shape.
 */
export type Json = Record<string, any>;

export interface AttackParameter {
  name: string;
  schema: Json;
}

export interface AttackOperation {
  /** `post /projects/{id}/deployment` */
  key: string;
  method: string;
  template: string;
  pathParams: string[];
  query: AttackParameter[];
  headers: AttackParameter[];
  /** The operation documents a request body (its JSON schema, `{}` when none is given). */
  body?: { schema: Json; example?: unknown };
  /** Security scheme names any one of which admits the request; empty: the operation is open. */
  schemes: string[];
}

function resolveRef(document: Json, value: Json | undefined): Json | undefined {
  let current = value;
  for (let hops = 0; current && typeof current.$ref === 'string' && hops < 10; hops++) {
    current = current.$ref
      .slice(2)
      .split('/')
      .reduce<Json | undefined>((node, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
  }
  return current;
}

/** Every operation of an OpenAPI document, with what the attack needs to know of it. */
export function attackOperations(document: Json): AttackOperation[] {
  return [...documentOperations(document)].sort().map((key) => {
    const [method, template] = key.split(' ') as [string, string];
    const item = document.paths[template] as Json;
    const op = item[method] as Json;
    const parameters = [...((item.parameters ?? []) as Json[]), ...((op.parameters ?? []) as Json[])].map((p) => resolveRef(document, p)!);
    const byPlace = (place: string) =>
      parameters.filter((p) => p.in === place).map((p) => ({ name: p.name as string, schema: (p.schema ?? {}) as Json }));
    const requestBody = resolveRef(document, op.requestBody as Json | undefined);
    const media = requestBody?.content?.['application/json'] as Json | undefined;
    const security = (op.security ?? document.security ?? []) as Json[];
    const schemes = [...new Set(security.flatMap((requirement) => Object.keys(requirement)))];
    return {
      key,
      method,
      template,
      pathParams: (template.match(/\{([^}]+)\}/g) ?? []).map((p) => p.slice(1, -1)),
      query: byPlace('query'),
      headers: byPlace('header').filter((p) => p.name.toLowerCase() !== 'authorization'),
      ...(requestBody ? { body: { schema: resolveRef(document, media?.schema as Json) ?? {}, example: media?.example } } : {}),
      schemes: security.some((requirement) => Object.keys(requirement).length === 0) ? [] : schemes,
    };
  });
}

/** The top-level fields a request body schema declares (through `$ref`, `oneOf`/`anyOf`/`allOf` and array items). */
export function declaredBodyFields(document: Json, schema: Json | undefined): Set<string> {
  const found = new Set<string>();
  const stack: Json[] = schema ? [schema] : [];
  for (let guard = 0; stack.length > 0 && guard < 100; guard++) {
    const s = resolveRef(document, stack.pop());
    if (!s) continue;
    for (const key of Object.keys((s.properties ?? {}) as Json)) found.add(key);
    for (const branch of [...((s.oneOf ?? []) as Json[]), ...((s.anyOf ?? []) as Json[]), ...((s.allOf ?? []) as Json[])])
      stack.push(branch);
    if (s.items) stack.push(s.items as Json);
  }
  return found;
}
