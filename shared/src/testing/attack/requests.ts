import fc from 'fast-check';
import { attackOperations, type Json } from './document.js';
import { bodyArb } from './bodies.js';
import { authArb, headersArb, type AuthPlan } from './headers.js';
import { hostileValue, queryArb, queryString, segment } from './values.js';

// A hostile request plan for one operation of the document, as the bytes to send.

export interface AttackRequest {
  operation: string;
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  /** What kind of hostility, for the report of a failure. */
  auth: AuthPlan['kind'];
  /** The request carries a credential the operation takes (so a 2xx is allowed). */
  authorised: boolean;
  /** The document has this method at this path (else any answer must be a 4xx error body). */
  documented: boolean;
  bodyKind?: string;
}

export interface AttackTarget {
  document: Json;
  /** Valid credentials per security scheme of the document: `{ admin: [token], webhook: [appSecret…] }`. */
  credentials: Record<string, string[]>;
  /** Ids that exist (the rows the test made), so some requests get past the lookups. */
  knownIds: string[];
  /** The largest body an operation takes (bodies around it are generated). Default 16 kB. */
  bodyLimitBytes?: number;
  /** Operations not to attack, e.g. `get /docs/assets/{file}`. */
  skip?: string[];
}

/** Hostile requests for every operation of the target's document. */
export function attackRequests(target: AttackTarget): fc.Arbitrary<AttackRequest> {
  const all = attackOperations(target.document);
  const keys = new Set(all.map((op) => op.key));
  const operations = all.filter((op) => !target.skip?.includes(op.key));
  const known = fc.constantFrom(...(target.knownIds.length ? target.knownIds : ['1']));
  return fc.constantFrom(...operations).chain((op) =>
    fc
      .record({
        params: fc.tuple(...op.pathParams.map(() => fc.tuple(hostileValue(known), fc.boolean()))),
        query: queryArb(op),
        auth: authArb(op, target.credentials),
        headers: headersArb(op),
        body: bodyArb(op, target.knownIds, target.bodyLimitBytes ?? 16 * 1024),
        method: fc.oneof(
          { weight: 20, arbitrary: fc.constant(op.method.toUpperCase()) },
          { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'POST', 'GET') },
        ),
      })
      .map(({ params, query, auth, headers, body, method }): AttackRequest => {
        let i = 0;
        const path =
          op.template.replace(/\{[^}]+\}/g, () => {
            const [value, raw] = params[i++]!;
            return segment(value, raw);
          }) + queryString(query);
        const all: Array<[string, string]> = [];
        if (auth.kind === 'valid' || auth.kind === 'other-scheme') all.push(['Authorization', `Bearer ${auth.value}`]);
        if (auth.kind === 'wrong') all.push(['Authorization', auth.header]);
        if (auth.kind === 'doubled') all.push(['Authorization', auth.values[0]], ['Authorization', auth.values[1]]);
        all.push(...headers);
        if (body?.contentType) all.push(['Content-Type', body.contentType]);
        const authorised = op.schemes.length === 0 || auth.kind === 'valid' || (auth.kind === 'doubled' && auth.bothValid);
        const request: AttackRequest = {
          operation: op.key,
          method,
          path,
          headers: all,
          ...(body
            ? { body: Buffer.from(typeof body.text === 'string' ? body.text : Uint8Array.from(body.text)), bodyKind: body.kind }
            : {}),
          auth: auth.kind,
          authorised,
          documented: keys.has(`${method.toLowerCase()} ${op.template}`),
        };
        // A request head over Node's 16 kB (--max-http-header-size) is refused by Node's parser
        // with a bare 431 before the app sees it: not the app's answer, so not generated.
        if (path.length + all.reduce((n, [k, v]) => n + k.length + v.length + 4, 0) > 12_000) request.path = request.path.split('?')[0]!;
        // fast-check prints a counterexample with this: short, and readable (not a Buffer's bytes).
        Object.defineProperty(request, fc.toStringMethod, { value: () => describeRequest(request), enumerable: false });
        return request;
      }),
  );
}

/** A readable account of a request, for the failure report. */
export function describeRequest(r: AttackRequest): string {
  const body = r.body ? ` body(${r.bodyKind}, ${r.body.length} B): ${JSON.stringify(r.body.toString('latin1').slice(0, 200))}` : '';
  return `${r.method} ${r.path.slice(0, 300)} [${r.operation}, auth ${r.auth}] headers ${JSON.stringify(r.headers.map(([k, v]) => [k, v.slice(0, 80)]))}${body}`;
}
