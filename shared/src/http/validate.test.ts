import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { parseWith, unstorableText } from './validate.js';

const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.issues;
    throw err;
  }
  return undefined;
};

describe('parseWith', () => {
  it('names each unknown field of a strict object', () => {
    expect(issuesOf(() => parseWith(z.object({}).strict(), { status: 'done', url: 'x' }, 'body'))).toEqual([
      { path: 'body.status', message: 'is not a field of this request' },
      { path: 'body.url', message: 'is not a field of this request' },
    ]);
  });

  it.each([
    ['U+0000', 'a\u0000b'],
    ['a lone high surrogate', 'a\ud800'],
    ['a lone low surrogate', '\udc00b'],
  ])('refuses %s in any string, whatever the schema, naming where it is', (_what, text) => {
    expect(issuesOf(() => parseWith(z.object({ name: z.string().optional() }), { name: text }, 'query'))).toEqual([
      { path: 'query.name', message: 'must not contain U+0000 or an unpaired surrogate' },
    ]);
    expect(issuesOf(() => parseWith(z.unknown(), { a: [{ b: text }] }, 'body'))).toEqual([
      { path: 'body.a.0.b', message: expect.any(String) },
    ]);
    expect(issuesOf(() => parseWith(z.unknown(), { [text]: 1 }, 'body'))).toEqual([
      { path: `body.${text}`, message: expect.stringMatching(/^names a field/) },
    ]);
  });

  it('lets paired surrogates (an emoji) and other text through', () => {
    expect(parseWith(z.object({ name: z.string() }), { name: 'ship it \u{1f680} \ufffd' }, 'body')).toEqual({
      name: 'ship it \u{1f680} \ufffd',
    });
    expect(unstorableText({ a: ['x', 1, null, { b: true }] }, 'body')).toEqual([]);
  });

  it('names at most 20, and walks a 100,000-deep value without overflowing', () => {
    expect(
      unstorableText(
        Array.from({ length: 50 }, () => '\u0000'),
        'body',
      ),
    ).toHaveLength(20);
    let deep: unknown = '\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(unstorableText(deep, 'body')).toHaveLength(1);
  });
});
