import { weekCount, weekEnd, weeklyAverage, weeksFromTo, weekStart, windowDates } from './stats.weeks.js';

const at = (iso: string) => new Date(iso);

describe('weekStart', () => {
  it.each([
    // a plain week: Monday 2026-11-23 … Sunday 2026-11-29
    ['2026-11-23T00:00:00.000Z', '2026-11-23T00:00:00.000Z'],
    ['2026-11-25T13:45:10.500Z', '2026-11-23T00:00:00.000Z'],
    ['2026-11-29T23:59:59.999Z', '2026-11-23T00:00:00.000Z'],
    ['2026-11-30T00:00:00.000Z', '2026-11-30T00:00:00.000Z'],
    // 2026 starts on a Thursday, so it has 53 ISO weeks: 2026-W53 is Mon 2026-12-28 … Sun 2027-01-03,
    // and 2027-W01 starts on Monday 2027-01-04
    ['2026-12-31T12:00:00.000Z', '2026-12-28T00:00:00.000Z'],
    ['2027-01-01T00:00:00.000Z', '2026-12-28T00:00:00.000Z'],
    ['2027-01-03T23:59:59.999Z', '2026-12-28T00:00:00.000Z'],
    ['2027-01-04T00:00:00.000Z', '2027-01-04T00:00:00.000Z'],
    // 2021-01-01 (a Friday) is in 2020-W53; a leap day; before 1970; the first day of year 1 (a Monday)
    ['2021-01-01T08:00:00.000Z', '2020-12-28T00:00:00.000Z'],
    ['2028-02-29T10:00:00.000Z', '2028-02-28T00:00:00.000Z'],
    ['1969-12-31T23:59:59.999Z', '1969-12-29T00:00:00.000Z'],
    ['0001-01-01T00:00:00.000Z', '0001-01-01T00:00:00.000Z'],
  ])('puts %s in the week of Monday %s', (instant, monday) => {
    expect(weekStart(at(instant)).toISOString()).toBe(monday);
  });

  it('takes the UTC week of an instant given with an offset', () => {
    // Monday 01:00 in UTC+2 is still Sunday in UTC
    expect(weekStart(at('2027-01-04T01:00:00+02:00')).toISOString()).toBe('2026-12-28T00:00:00.000Z');
    expect(weekStart(at('2027-01-03T23:30:00-02:00')).toISOString()).toBe('2027-01-04T00:00:00.000Z');
  });

  it('starts every week on a Monday', () => {
    for (let d = at('2024-12-01T00:00:00Z').getTime(); d < at('2029-02-01T00:00:00Z').getTime(); d += 86_400_000 / 3) {
      const monday = weekStart(new Date(d));
      expect(monday.getUTCDay()).toBe(1);
      expect(monday.getTime()).toBeLessThanOrEqual(d);
      expect(d - monday.getTime()).toBeLessThan(7 * 86_400_000);
    }
  });
});

describe('weekEnd', () => {
  it('is the next Monday 00:00 UTC, so the Sunday is included and the Monday is not', () => {
    expect(weekEnd(at('2027-01-03T23:59:59.999Z')).toISOString()).toBe('2027-01-04T00:00:00.000Z');
    expect(weekEnd(at('2027-01-04T00:00:00.000Z')).toISOString()).toBe('2027-01-11T00:00:00.000Z');
  });
});

describe('windows', () => {
  it('counts the weeks from the first to the last, both included, across a year boundary', () => {
    const window = weeksFromTo(at('2026-12-22T09:00:00Z'), at('2027-01-05T18:00:00Z')); // 2026-W52 … 2027-W01
    expect(weekCount(window)).toBe(3);
    expect(windowDates(window)).toEqual({ from: '2026-12-21', to: '2027-01-10' });
  });

  it('holds one week when both ends are in the same week', () => {
    const window = weeksFromTo(at('2026-11-29T23:00:00Z'), at('2026-11-23T00:00:00Z'));
    expect(weekCount(window)).toBe(1);
    expect(windowDates(window)).toEqual({ from: '2026-11-23', to: '2026-11-29' });
  });

  it('counts 53 weeks in the ISO year 2026 and 52 in 2027', () => {
    expect(weekCount(weeksFromTo(at('2025-12-29T00:00:00Z'), at('2027-01-03T00:00:00Z')))).toBe(53);
    expect(weekCount(weeksFromTo(at('2027-01-04T00:00:00Z'), at('2028-01-02T00:00:00Z')))).toBe(52);
  });

  it('holds no week when it would end before it starts', () => {
    expect(weekCount(weeksFromTo(at('2026-12-01T00:00:00Z'), at('2026-11-01T00:00:00Z')))).toBe(0);
  });
});

describe('weeklyAverage', () => {
  it.each([
    [7, 3, 2.33],
    [2, 3, 0.67],
    [1, 8, 0.13], // exactly 0.125: half up
    [3, 8, 0.38], // exactly 0.375
    [201, 200, 1.01], // exactly 1.005, which Math.round(1.005 * 100) / 100 gets wrong
    [6, 3, 2],
    [0, 5, 0],
    [0, 0, 0],
    [100_000, 104, 961.54],
  ])('%i over %i weeks is %d', (count, weeks, average) => {
    expect(weeklyAverage(count, weeks)).toBe(average);
  });
});
