import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  nextFiring,
  parseScheduleExpression,
  ScheduleExpressionError,
} from './schedule-expression.js';

const at = (iso: string) => Date.parse(iso);
const next = (expr: string, after: string, opts = {}) =>
  new Date(
    nextFiring(parseScheduleExpression(expr, opts), at(after), at(after)) ?? 0,
  ).toISOString();

describe('schedule expressions', () => {
  test('rate counts from its anchor; the unit agrees with the value', () => {
    const e = parseScheduleExpression('rate(1 hour)');
    const anchor = at('2026-01-01T00:10:00Z');
    assert.equal(nextFiring(e, anchor, anchor), anchor + 3_600_000);
    assert.equal(nextFiring(e, anchor + 3_600_000, anchor), anchor + 7_200_000);
    for (const bad of [
      'rate(1 hours)',
      'rate(2 hour)',
      'rate(0 minutes)',
      'rate(5 weeks)',
      'rate(x)',
    ]) {
      assert.throws(() => parseScheduleExpression(bad), ScheduleExpressionError, bad);
    }
  });

  test("cron's six fields: ?, L, W, #, ranges of named days, the year", () => {
    assert.equal(next('cron(0 12 * * ? *)', '2026-01-01T12:00:00Z'), '2026-01-02T12:00:00.000Z');
    // Friday 2026-12-04 23:50 → Monday 00:00 (MON-FRI).
    assert.equal(
      next('cron(0/15 * ? * MON-FRI *)', '2026-12-04T23:50:00Z'),
      '2026-12-07T00:00:00.000Z',
    );
    assert.equal(next('cron(0 12 L * ? *)', '2026-11-04T00:00:00Z'), '2026-11-30T12:00:00.000Z');
    // 2026-11-15 is a Sunday: the nearest weekday is Monday the 16th.
    assert.equal(next('cron(0 12 15W * ? *)', '2026-11-04T00:00:00Z'), '2026-11-16T12:00:00.000Z');
    // 5 is Thursday (1 = SUN): the third Thursday of November 2026 is the 19th.
    assert.equal(next('cron(0 12 ? * 5#3 *)', '2026-11-04T00:00:00Z'), '2026-11-19T12:00:00.000Z');
    assert.equal(next('cron(0 12 ? * 6L *)', '2026-11-04T00:00:00Z'), '2026-11-27T12:00:00.000Z');
    assert.equal(
      next('cron(0 8 1 JAN ? 2028)', '2026-11-04T00:00:00Z'),
      '2028-01-01T08:00:00.000Z',
    );
    assert.equal(next('cron(0 10 ? * 2 *)', '2026-11-04T00:00:00Z'), '2026-11-09T10:00:00.000Z');
  });

  test('cron in a time zone (Scheduler)', () => {
    assert.equal(
      next('cron(0 9 * * ? *)', '2026-07-01T00:00:00Z', { timeZone: 'America/New_York' }),
      '2026-07-01T13:00:00.000Z',
    );
  });

  test('invalid cron expressions are refused', () => {
    for (const bad of [
      'cron(0 12 * * * *)',
      'cron(0 12 ? * ? *)',
      'cron(0 12 * *)',
      'cron(61 12 * * ? *)',
      'cron(0 12 ? * 8 *)',
      'cron(0 12 * * ? * *)',
      'cron(x 12 * * ? *)',
    ]) {
      assert.throws(() => parseScheduleExpression(bad), ScheduleExpressionError, bad);
    }
  });

  test('at() only where allowed, in its time zone', () => {
    assert.throws(
      () => parseScheduleExpression('at(2026-01-01T00:00:00)'),
      ScheduleExpressionError,
    );
    const e = parseScheduleExpression('at(2026-01-01T09:00:00)', {
      allowAt: true,
      timeZone: 'Europe/Paris',
    });
    assert.deepEqual(e, { kind: 'at', at: at('2026-01-01T08:00:00Z') });
    assert.equal(nextFiring(e, at('2026-01-01T08:00:00Z'), 0), undefined);
  });
});
