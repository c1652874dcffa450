import Koa from 'koa';
import supertest from 'supertest';
import { logCapture } from '../testing/logs.js';
import { requestContext, type RequestState } from './request-context.js';

/** An app whose request context writes to `records()`; `handler` runs inside it. */
function app(handler: Koa.Middleware<RequestState>) {
  const { logger, records } = logCapture({ name: 'svc' });
  const koa = new Koa<RequestState>();
  koa.silent = true;
  koa.use(requestContext(logger));
  koa.use(handler);
  return { http: supertest(koa.callback()), records };
}

describe('requestContext', () => {
  it('writes one request line with the id, method, status, duration and path, and echoes the id', async () => {
    const { http, records } = app(async (ctx) => {
      ctx.body = { ok: true };
    });
    const res = await http.get('/things?x=1').set('X-Request-Id', 'req-1');
    const lines = records();
    expect(res.headers['x-request-id']).toBe('req-1');
    expect(lines).toEqual([
      {
        level: 30,
        time: expect.any(String),
        name: 'svc',
        requestId: 'req-1',
        method: 'GET',
        status: 200,
        durationMs: expect.any(Number),
        path: '/things',
        msg: 'request',
      },
    ]);
    expect(Object.keys(lines[0]!)).toEqual(['level', 'time', 'name', 'requestId', 'method', 'status', 'durationMs', 'path', 'msg']);
  });

  it('writes the line of an answered health probe at debug, so probes every few seconds do not fill the info log', async () => {
    const { http, records } = app(async (ctx) => {
      if (ctx.path === '/readyz' && ctx.query.fail) ctx.status = 503;
      else ctx.body = { status: 'ok' };
    });
    await http.get('/healthz');
    await http.get('/readyz');
    await http.get('/readyz?fail=1');
    await http.get('/healthzz');
    // at info: the failed probe (worth seeing) and the path that only looks like a probe
    expect(records().map((l) => [l.path, l.status])).toEqual([
      ['/readyz', 503],
      ['/healthzz', 200],
    ]);
  });

  it('gives handlers a logger that carries the request id, made when they first log', async () => {
    const { http, records } = app(async (ctx) => {
      ctx.state.log.info({ step: 1 }, 'working');
      ctx.state.log.warn({ step: 2 }, 'still working');
      ctx.body = {};
    });
    await http.get('/').set('X-Request-Id', 'req-2');
    const lines = records();
    expect(lines.map((l) => [l.msg, l.requestId])).toEqual([
      ['working', 'req-2'],
      ['still working', 'req-2'],
      ['request', 'req-2'],
    ]);
  });

  it('redacts secrets in the error of a failed request, and in what handlers log', async () => {
    const { http, records } = app(async (ctx) => {
      ctx.state.log.info({ token: 'handler-secret', headers: { authorization: 'Bearer x' } }, 'details');
      (ctx.state as { error?: object }).error = { name: 'Oops', status: 500, token: 'error-secret' };
      ctx.status = 500;
    });
    await http.get('/');
    const lines = records();
    const text = JSON.stringify(lines);
    expect(text).not.toContain('secret');
    expect(text).not.toContain('Bearer x');
    expect(lines.at(-1)).toMatchObject({ msg: 'request', status: 500, error: { name: 'Oops', token: '[redacted]' } });
  });

  it('replaces a request id that is not short and plain', async () => {
    const { http, records } = app(async (ctx) => {
      ctx.body = {};
    });
    const res = await http.get('/').set('X-Request-Id', 'bad id with spaces');
    const lines = records();
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines[0]!.requestId).toBe(res.headers['x-request-id']);
  });
});
