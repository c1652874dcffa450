import { linkHeader, pageLinks, pageParam } from './pagination.js';

describe('pageLinks', () => {
  it('names first, next and last on the first page, no prev', () => {
    expect(pageLinks(1, 20)).toEqual({ first: 1, next: 2, last: 3 });
  });
  it('names prev and next in the middle', () => {
    expect(pageLinks(2, 20)).toEqual({ first: 1, prev: 1, next: 3, last: 3 });
  });
  it('has no next on the last page', () => {
    expect(pageLinks(3, 20)).toEqual({ first: 1, prev: 2, last: 3 });
  });
  it('points prev at the last page from past the end', () => {
    expect(pageLinks(9, 20)).toEqual({ first: 1, prev: 3, last: 3 });
  });
  it('has one page when there is nothing', () => {
    expect(pageLinks(1, 0)).toEqual({ first: 1, last: 1 });
  });
  it('counts an exact multiple of the page size right', () => {
    expect(pageLinks(2, 16)).toEqual({ first: 1, prev: 1, last: 2 });
  });
});

describe('linkHeader', () => {
  it('writes absolute URLs, keeps filters, and names prev also as previous', () => {
    const header = linkHeader(
      'http://api.test',
      '/deployments',
      { status: ['done'] },
      {
        first: 1,
        prev: 1,
        next: 3,
        last: 3,
      },
    );
    expect(header).toBe(
      '<http://api.test/deployments?status=done&page=1>; rel="first", ' +
        '<http://api.test/deployments?status=done&page=1>; rel="prev previous", ' +
        '<http://api.test/deployments?status=done&page=3>; rel="next", ' +
        '<http://api.test/deployments?status=done&page=3>; rel="last"',
    );
  });
});

describe('pageParam', () => {
  it.each([undefined])('defaults to 1 when absent', (value) => {
    expect(pageParam.parse(value)).toBe(1);
  });
  it.each(['1', '2', '1000000'])('accepts %s', (value) => {
    expect(pageParam.parse(value)).toBe(Number(value));
  });
  it.each(['0', '-1', '1.5', 'abc', '', '01', '1e3', ' 1', '1000001', '99999999'])('refuses %p', (value) => {
    expect(pageParam.safeParse(value).success).toBe(false);
  });
});
