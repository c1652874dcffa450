import { BadRequestError } from '../errors.js';
import { isValidHost, linkQuery, requestBaseUrl, setNextPageLink } from './base-url.js';

describe('isValidHost', () => {
  it.each([
    'localhost',
    'localhost:3000',
    'api.example.com',
    'api.example.com.',
    '127.0.0.1:54321',
    '[::1]:3000',
    '[2001:db8::1]',
    'project_service:3000',
    'a-b.c-d.example:65535',
  ])('accepts %s', (host) => expect(isValidHost(host)).toBe(true));

  it.each([
    'evil.example>; rel="next", <https://attacker.example/steal',
    'a.example/path',
    'a.example:3000/x',
    'a.example:0',
    'a.example:65536',
    'a.example:',
    'user@a.example',
    'a example',
    '-a.example',
    'a..example',
    '[::1',
    '"a.example"',
    `${'a'.repeat(64)}.example`,
    `${'abcdefghi.'.repeat(26)}example`,
  ])('refuses %s', (host) => expect(isValidHost(host)).toBe(false));
});

describe('requestBaseUrl', () => {
  it('takes the configured base over the request, without its trailing slashes', () => {
    expect(requestBaseUrl({ protocol: 'http', host: 'evil.example>' }, 'https://api.example.com/')).toBe('https://api.example.com');
  });

  it("builds from the request's host only when it is hostname[:port], and only with http or https", () => {
    expect(requestBaseUrl({ protocol: 'https', host: 'api.example.com:8443' })).toBe('https://api.example.com:8443');
    expect(requestBaseUrl({ protocol: 'http', host: '' })).toBe('http://localhost');
    // X-Forwarded-Proto behind a trusted proxy is the client's text: never a scheme of its choosing
    expect(requestBaseUrl({ protocol: 'javascript', host: 'a.example' })).toBe('http://a.example');
    expect(requestBaseUrl({ protocol: 'x>; rel="next"', host: 'a.example' })).toBe('http://a.example');
    expect(() => requestBaseUrl({ protocol: 'http', host: 'evil.example>; rel="next", <https://attacker.example/steal' })).toThrow(
      BadRequestError,
    );
  });

  it('never lets a forged host into a keyset Link', () => {
    const headers: Array<[string, string]> = [];
    const ctx = {
      protocol: 'http',
      host: 'a>; rel="next", <https://attacker.example',
      path: '/events',
      set: (k: string, v: string) => headers.push([k, v]),
    };
    expect(() => setNextPageLink(ctx, 'abc', { limit: 2 })).toThrow('Invalid Host header: must be hostname[:port]');
    expect(headers).toEqual([]);
    setNextPageLink({ ...ctx, host: '127.0.0.1:3001' }, 'abc', { limit: 2 });
    expect(headers).toEqual([['Link', '<http://127.0.0.1:3001/events?limit=2&cursor=abc>; rel="next"']]);
  });
});

describe('linkQuery', () => {
  it("writes the route's own parameters as parsed, in order, and leaves out undefined ones", () => {
    expect(linkQuery({ projectId: 7, status: ['done', 'failed', 'done'], name: undefined, from: '2026-01-01T00:00:00Z' }).toString()).toBe(
      'projectId=7&status=done%2Cfailed&from=2026-01-01T00%3A00%3A00Z',
    );
    expect(linkQuery({}).toString()).toBe('');
  });
});
