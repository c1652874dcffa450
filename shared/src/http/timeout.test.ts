import { PassThrough, Readable } from 'node:stream';
import Koa, { type Middleware } from 'koa';
import supertest from 'supertest';
import { createLogger } from '../logger.js';
import { logCapture } from '../testing/logs.js';
import { problemMiddleware } from './problem.js';
import { requestContext, type RequestState } from './request-context.js';
import { requestTimeout } from './timeout.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function app(handler: Middleware<RequestState>, timeoutMs = 100) {
  const { logger, lines } = logCapture();
  const koa = new Koa<RequestState>();
  koa.silent = true;
  koa.use(requestContext(logger));
  koa.use(problemMiddleware());
  koa.use(requestTimeout(timeoutMs));
  koa.use(handler);
  return { http: supertest(koa.callback()), lines };
}

describe('requestTimeout', () => {
  it('answers a request not done in time with a 503, Retry-After and the error body, and logs it', async () => {
    // The handler finishes only when the test lets it: an answer before that is the timeout's, however slow the machine.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { http, lines } = app(async (ctx) => {
      await released;
      ctx.body = { late: true };
    });
    const res = await http.get('/slow').set('X-Request-Id', 'slow-1');
    release();
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      type: 'urn:hosting:problem:service-unavailable',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The request took too long to complete; try again shortly',
      name: 'ServiceUnavailableError',
      message: 'The request took too long to complete; try again shortly',
      requestId: 'slow-1',
    });
    expect(lines.some((l) => l.includes('request timed out') && l.includes('slow-1'))).toBe(true);
    expect(lines.some((l) => l.includes('"msg":"request"') && l.includes('"status":503') && l.includes('ServiceUnavailableError'))).toBe(
      true,
    );
    while (!lines.some((l) => l.includes('finished after its 503'))) await sleep(10);
  });

  it('answers application/problem+json to a client that asks for it', async () => {
    const { http } = app(() => sleep(300));
    const res = await http.get('/').set('Accept', 'application/problem+json');
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('keeps a late handler from changing the answer: its status, body and headers are ignored, a late stream is destroyed', async () => {
    const late = new PassThrough();
    let destroyed = false;
    late.on('close', () => (destroyed = true));
    let finished: () => void;
    const done = new Promise<void>((r) => (finished = r));
    const koa = new Koa<RequestState>();
    koa.silent = true;
    koa.use(requestContext(createLogger({ level: 'silent' })));
    koa.use(problemMiddleware());
    koa.use(requestTimeout(50));
    koa.use(async (ctx) => {
      await sleep(100);
      ctx.status = 201;
      ctx.set('Location', '/somewhere');
      ctx.body = late;
      finished();
    });
    // The first answer goes out at 50 ms; the handler writes at 100 ms.
    const res = await supertest(koa.callback()).get('/');
    await done;
    expect(res.status).toBe(503);
    expect(res.headers.location).toBeUndefined();
    await sleep(20);
    expect(destroyed).toBe(true);
  });

  it('ignores a late write that lands before the answer is sent, and a late failure does not crash', async () => {
    // The handler finishes in the same moment as the timer; whichever wins, one whole answer goes out.
    for (const delay of [48, 50, 52]) {
      const { http } = app(async (ctx) => {
        await sleep(delay);
        ctx.body = { ok: true };
      }, 50);
      const res = await http.get('/');
      expect([200, 503]).toContain(res.status);
      if (res.status === 503) expect(res.body.name).toBe('ServiceUnavailableError');
      else expect(res.body).toEqual({ ok: true });
    }
    const { http, lines } = app(async () => {
      await sleep(100);
      throw new Error('late failure');
    }, 20);
    expect((await http.get('/')).status).toBe(503);
    await sleep(150);
    expect(lines.some((l) => l.includes('failed after its 503') && l.includes('late failure'))).toBe(true);
  });

  it('lets a fast request through untouched', async () => {
    const { http } = app((ctx) => {
      ctx.status = 201;
      ctx.body = { ok: true };
    });
    const res = await http.get('/');
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ ok: true });
  });

  it('does not cut a stream once its handler has returned (SSE, exports)', async () => {
    const { http } = app((ctx) => {
      ctx.type = 'text/plain';
      ctx.body = Readable.from(
        (async function* () {
          for (let i = 0; i < 4; i++) {
            await sleep(60);
            yield `chunk ${i}\n`;
          }
        })(),
      );
    }, 50);
    const res = await http.get('/');
    expect(res.status).toBe(200);
    expect(res.text).toBe('chunk 0\nchunk 1\nchunk 2\nchunk 3\n');
  });

  it('does not cut a handler that writes to the socket itself once its headers are out', async () => {
    const { http } = app(async (ctx) => {
      ctx.respond = false;
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
      ctx.res.write('a');
      await sleep(150);
      ctx.res.end('b');
    }, 50);
    const res = await http.get('/');
    expect(res.status).toBe(200);
    expect(res.text).toBe('ab');
  });

  it('passes an error thrown in time to the error body as usual', async () => {
    const { http } = app(() => {
      throw Object.assign(new Error('nope'), { status: 400, expose: true });
    });
    const res = await http.get('/');
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('nope');
  });
});
