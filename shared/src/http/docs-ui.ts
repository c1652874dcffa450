import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Context, Middleware } from 'koa';

/**
 * The Swagger UI server: the API documentation of a service, served by the service itself and without a token:
 *
 * - `GET /openapi.json`: the OpenAPI 3.1 document;
 * - `GET /docs`: Swagger UI (from the `swagger-ui-dist` package, served from node_modules: no CDN)
 *   pointed at that document;
 * - `GET /docs/assets/<file>`: the few files the page loads, by an allow-list of names, so
 *   nothing else of the file system is reachable whatever the path says.
 *
 * Everything else falls through to the next middleware. The document itself is built in
 * openapi.ts from the services' route tables.
 */

/** Files of swagger-ui-dist the page needs, with their content types. */
const PACKAGE_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Names under /docs/assets/, for the document and the tests: the package's files and our initializer. */
export const DOCS_ASSET_NAMES: readonly string[] = [...Object.keys(PACKAGE_ASSETS), 'init.js'];

/**
 * Starts Swagger UI on the page. A file rather than an inline script, so that the page's
 * Content-Security-Policy can forbid inline scripts. The document URL is relative to the page
 * (`/docs` → `/openapi.json`), which also holds behind a reverse proxy that adds a path prefix.
 */
const INIT_SCRIPT = `"use strict";
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  displayRequestDuration: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
});
`;

/** Swagger UI renders with inline styles and data: images; scripts come from this origin only. */
const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Package files rarely change but carry no version in their names: a day, then revalidate by ETag. */
const ASSET_CACHE = 'public, max-age=86400';
/** The page and the document change with each release: always revalidate (cheap, by ETag). */
const PAGE_CACHE = 'no-cache';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string): string {
  const t = escapeHtml(title);
  // Relative URLs: from /docs, `docs/assets/x` is /docs/assets/x.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t}</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="docs/assets/favicon-16x16.png" sizes="16x16">
</head>
<body>
<noscript>This page needs JavaScript. The API document itself is at <a href="openapi.json">openapi.json</a>.</noscript>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/init.js"></script>
</body>
</html>
`;
}

interface Served {
  body: Buffer;
  type: string;
  etag: string;
  cache: string;
}

function served(body: Buffer | string, type: string, cache: string): Served {
  const buffer = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const etag = `"${createHash('sha256').update(buffer).digest('base64url').slice(0, 27)}"`;
  return { body: buffer, type, etag, cache };
}

/** The folder of swagger-ui-dist, by its own `absolutePath()` (without loading its 1.5 MB bundle into Node). */
function swaggerUiDir(): string {
  const require = createRequire(import.meta.url);
  const absolutePath = require('swagger-ui-dist/absolute-path.js') as () => string;
  return absolutePath();
}

export function docsRoutes(document: object, options: { title: string }): Middleware {
  const fixed = new Map<string, Served>([
    ['/openapi.json', served(JSON.stringify(document), 'application/json; charset=utf-8', PAGE_CACHE)],
    ['/docs', served(page(options.title), 'text/html; charset=utf-8', PAGE_CACHE)],
    ['/docs/assets/init.js', served(INIT_SCRIPT, 'application/javascript; charset=utf-8', ASSET_CACHE)],
  ]);
  /** Package files are read on first use, once per app. */
  const loaded = new Map<string, Promise<Served>>();
  let dir: string | undefined;
  const packageAsset = (name: string): Promise<Served> => {
    let file = loaded.get(name);
    if (!file) {
      dir ??= swaggerUiDir();
      file = readFile(path.join(dir, name)).then((body) => served(body, PACKAGE_ASSETS[name]!, ASSET_CACHE));
      file.catch(() => loaded.delete(name)); // a failed read is retried by the next request
      loaded.set(name, file);
    }
    return file;
  };

  /** The file at `p`, or undefined when it is not one of ours (an exact name, never a path to follow). */
  const find = (p: string): (() => Promise<Served>) | undefined => {
    const known = fixed.get(p);
    if (known) return () => Promise.resolve(known);
    const name = p.startsWith('/docs/assets/') ? p.slice('/docs/assets/'.length) : undefined;
    return name !== undefined && Object.hasOwn(PACKAGE_ASSETS, name) ? () => packageAsset(name) : undefined;
  };

  const send = (ctx: Context, file: Served) => {
    ctx.set('Cache-Control', file.cache);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('ETag', file.etag);
    if (file.type.startsWith('text/html')) {
      ctx.set('Content-Security-Policy', DOCS_CSP);
      ctx.set('Referrer-Policy', 'no-referrer');
    }
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.type = file.type;
    ctx.body = file.body;
  };

  return async function docs(ctx, next) {
    const p = ctx.path;
    if (p !== '/openapi.json' && p !== '/docs' && p !== '/docs/' && !p.startsWith('/docs/assets/')) {
      await next();
      return;
    }
    if (p === '/docs/') {
      // The page's relative URLs need /docs; `../docs` stays right behind a path prefix too.
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        await next();
        return;
      }
      ctx.state.route = '/docs/';
      ctx.status = 301;
      ctx.set('Location', '../docs');
      return;
    }
    const load = find(p);
    if (!load) {
      await next();
      return;
    }
    ctx.state.route = p.startsWith('/docs/assets/') ? '/docs/assets/:file' : p; // its template, like the router's
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD');
      ctx.status = 405; // the error middleware writes the body
      return;
    }
    send(ctx, await load());
  };
}
