import net from 'node:net';
import Koa from 'koa';
import pino from 'pino';
import { listen, type RunningServer } from './server.js';

/** What Node's own HTTP parser refuses still gets the contract's error shape. */
let running: RunningServer;

beforeAll(async () => {
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = { ok: true };
  });
  running = await listen(app, { port: 0, host: '127.0.0.1', logger: pino({ level: 'silent' }), drainDelayMs: 0 });
});

afterAll(() => running.shutdown('test over'));

function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(running.port, '127.0.0.1', () => socket.end(bytes));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

function parse(response: string): { status: number; contentType: string | undefined; body: Record<string, unknown> } {
  const [head, body] = response.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head!)?.[1]);
  const contentType = /\r\ncontent-type: ([^\r]+)/i.exec(head!)?.[1];
  return { status, contentType, body: JSON.parse(body!) as Record<string, unknown> };
}

it('answers a request whose headers exceed 16 KB with a 431 in the error shape', async () => {
  const response = parse(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
  expect(response.status).toBe(431);
  expect(response.contentType).toMatch(/^application\/json/);
  expect(response.body).toMatchObject({ name: 'RequestHeaderFieldsTooLargeError', status: 431, message: expect.stringContaining('16 KB') });
});

it('answers bytes that are not HTTP with a 400 in the error shape', async () => {
  const response = parse(await raw('HELLO THERE\r\n\r\n'));
  expect(response.status).toBe(400);
  expect(response.body).toMatchObject({ name: 'BadRequestError', message: 'The request is not valid HTTP' });
});

it('still answers a well-formed request normally', async () => {
  const response = await raw('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  expect(response).toMatch(/^HTTP\/1\.1 200 OK/);
  expect(response).toContain('{"ok":true}');
});
