import { test } from 'node:test';
import assert from 'node:assert/strict';
import { anomalyBand, trainingState } from './anomaly-model.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 30); // a Monday, 00:00 UTC

/** Hourly history over `days` days: 100 at 09:00–17:00 UTC, 10 otherwise. */
function workdays(days: number): { times: number[]; values: number[] } {
  const times: number[] = [];
  const values: number[] = [];
  for (let t = T0; t < T0 + days * DAY; t += HOUR) {
    const h = new Date(t).getUTCHours();
    times.push(t);
    values.push(h >= 9 && h < 17 ? 100 : 10);
  }
  return { times, values };
}

test('with two weeks of history the band follows the hour of the week', () => {
  const { times, values } = workdays(14);
  const noon = T0 + 14 * DAY + 12 * HOUR;
  const night = T0 + 14 * DAY + 3 * HOUR;
  const b = anomalyBand(times, values, [noon, night], 2, { excluded: [] });
  // A flat seasonal slot: mean exactly, width the 1 % floor.
  assert.deepEqual([...b.upper], [102, 10.2]);
  assert.deepEqual([...b.lower], [98, 9.8]);
});

test('the metric time zone keeps the slots right across a daylight saving change', () => {
  // Busy 09:00–17:00 Berlin time for two weeks over the start of summer time (29 Mar 2026).
  const berlinHour = new Intl.DateTimeFormat('en-US', {
    timeZone: 'Europe/Berlin',
    hour: 'numeric',
    hourCycle: 'h23',
  });
  const start = Date.UTC(2026, 2, 16); // Monday 16 Mar
  const times: number[] = [];
  const values: number[] = [];
  for (let t = start; t < start + 14 * DAY; t += HOUR) {
    const h = Number(berlinHour.format(new Date(t)));
    times.push(t);
    values.push(h >= 9 && h < 17 ? 100 : 10);
  }
  // Monday 30 Mar 07:00 UTC is 09:00 in Berlin (summer time): busy.
  const t = Date.UTC(2026, 2, 30, 7);
  const berlin = anomalyBand(times, values, [t], 2, { excluded: [], timezone: 'Europe/Berlin' });
  assert.equal(berlin.upper[0], 102);
  // In UTC slots the two Mondays at 07:00 UTC were 08:00 Berlin winter time: quiet.
  const utc = anomalyBand(times, values, [t], 2, { excluded: [] });
  assert.equal(utc.upper[0], 10.2);
});

test('short history falls back to the last 24 hours; excluded ranges do not train', () => {
  const times = [0, 1, 2, 3, 4, 5].map((i) => T0 + i * 60_000);
  const values = [10, 10, 10, 10, 10, 1000];
  const at = T0 + 6 * 60_000;
  const all = anomalyBand(times, values, [at], 2, { excluded: [] });
  assert.ok(all.upper[0] > 500);
  const without = anomalyBand(times, values, [at], 2, {
    excluded: [{ start: T0 + 5 * 60_000, end: T0 + 6 * 60_000 }],
  });
  assert.equal(without.upper[0], 10.2);
  // Fewer than five points: no band.
  const few = anomalyBand(times.slice(0, 4), values.slice(0, 4), [at], 2, { excluded: [] });
  assert.ok(Number.isNaN(few.upper[0]));
  assert.equal(trainingState(0), 'PENDING_TRAINING');
  assert.equal(trainingState(3), 'TRAINED_INSUFFICIENT_DATA');
  assert.equal(trainingState(50), 'TRAINED');
});
