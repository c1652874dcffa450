import { ValidationError } from '../errors.js';
import { assertJsonDepth, MAX_BODY_DEPTH } from './body.js';

const nestedArrays = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));
const nestedObjects = (depth: number): unknown => JSON.parse('{"a":'.repeat(depth) + '1' + '}'.repeat(depth));

describe('assertJsonDepth', () => {
  it('lets a body nest up to the limit, objects and arrays alike', () => {
    expect(() => assertJsonDepth(nestedArrays(MAX_BODY_DEPTH))).not.toThrow();
    expect(() => assertJsonDepth(nestedObjects(MAX_BODY_DEPTH))).not.toThrow();
    expect(() => assertJsonDepth({ a: [1, { b: 'x' }], c: null })).not.toThrow();
    for (const scalar of [null, 1, 'x', true, undefined]) expect(() => assertJsonDepth(scalar)).not.toThrow();
  });

  it('refuses one level more with a 400 naming the body', () => {
    for (const value of [
      nestedArrays(MAX_BODY_DEPTH + 1),
      nestedObjects(MAX_BODY_DEPTH + 1),
      { ok: 1, deep: nestedArrays(MAX_BODY_DEPTH) },
    ]) {
      let thrown: unknown;
      try {
        assertJsonDepth(value);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).issues).toEqual([{ path: 'body', message: `nests deeper than ${MAX_BODY_DEPTH} levels` }]);
    }
  });

  it('refuses the 500,000-deep array of a 1 MB body without overflowing the stack itself', () => {
    const deep = nestedArrays(500_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError); // what the aggregator hit: a 500
    expect(() => assertJsonDepth(deep)).toThrow(ValidationError);
  });
});
