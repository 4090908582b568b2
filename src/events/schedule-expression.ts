/**
 * Schedule expressions of EventBridge rules and EventBridge Scheduler: `rate(…)`,
 * `cron(…)` in AWS's six-field syntax, and (Scheduler only) `at(…)`.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
 *
 * AWS's fields: minutes, hours, day-of-month, month, day-of-week, year. "You can't specify
 * the Day-of-month and Day-of-week fields in the same cron expression. If you specify a
 * value or a * (asterisk) in one of the fields, you must use a ? (question mark) in the
 * other." Day-of-week counts 1-7 from SUN. croner does the calendar arithmetic (L, W, #,
 * years, time zones) once the expression is translated to its syntax.
 */
import { Cron } from 'croner';

export type ScheduleExpression =
  { kind: 'rate'; everyMs: number } | { kind: 'cron'; cron: Cron } | { kind: 'at'; at: number };

export class ScheduleExpressionError extends Error {}

const UNITS: Record<string, number> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/**
 * Parses an expression; `timeZone` (IANA) applies to cron and at (Scheduler), rules are
 * UTC. Throws ScheduleExpressionError for one AWS refuses.
 */
export function parseScheduleExpression(
  text: string,
  options: { allowAt?: boolean; timeZone?: string } = {},
): ScheduleExpression {
  const m = /^(rate|cron|at)\((.*)\)$/.exec(text.trim());
  if (!m) throw new ScheduleExpressionError('Parameter ScheduleExpression is not valid.');
  const [, kind, body] = m;
  if (kind === 'rate') return { kind, everyMs: parseRate(body) };
  if (kind === 'cron') return { kind, cron: parseCron(body, options.timeZone ?? 'UTC') };
  if (!options.allowAt)
    throw new ScheduleExpressionError('Parameter ScheduleExpression is not valid.');
  return { kind: 'at', at: parseAt(body, options.timeZone ?? 'UTC') };
}

/**
 * `rate(value unit)`: "If the value is equal to 1, then the unit must be singular.
 * Similarly, for values greater than 1, the unit must be plural."
 */
function parseRate(body: string): number {
  const m = /^(\d+) (minutes?|hours?|days?)$/.exec(body.trim());
  const value = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(value) || value < 1) {
    throw new ScheduleExpressionError('Parameter ScheduleExpression is not valid.');
  }
  if ((value === 1) !== !m[2].endsWith('s')) {
    throw new ScheduleExpressionError('Parameter ScheduleExpression is not valid.');
  }
  return value * UNITS[m[2]];
}

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FIELD_RE = {
  minutes: /^[\d,\-*/]+$/,
  hours: /^[\d,\-*/]+$/,
  dayOfMonth: /^([\d,\-*?/LW]+)$/,
  month: /^([\d,\-*/]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)+$/i,
  dayOfWeek: /^([\d,\-*?/L#]|SUN|MON|TUE|WED|THU|FRI|SAT)+$/i,
  year: /^[\d,\-*/]+$/,
};

function parseCron(body: string, timeZone: string): Cron {
  const invalid = () => new ScheduleExpressionError('Parameter ScheduleExpression is not valid.');
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) throw invalid();
  const [minutes, hours, dom, month, dow, year] = fields;
  const checks: [string, RegExp][] = [
    [minutes, FIELD_RE.minutes],
    [hours, FIELD_RE.hours],
    [dom, FIELD_RE.dayOfMonth],
    [month, FIELD_RE.month],
    [dow, FIELD_RE.dayOfWeek],
    [year, FIELD_RE.year],
  ];
  if (checks.some(([f, re]) => !re.test(f))) throw invalid();
  // Exactly one of day-of-month and day-of-week is '?'.
  if ((dom === '?') === (dow === '?')) throw invalid();
  if (minutes.includes('?') || hours.includes('?')) throw invalid();
  const pattern = [
    '0',
    step(minutes, 0, 59),
    step(hours, 0, 23),
    dom === '?' ? '*' : step(dom, 1, 31),
    step(month, 1, 12),
    dow === '?' ? '*' : step(translateDayOfWeek(dow), 0, 6),
    year === '*' ? '*' : step(year, 1970, 2199),
  ].join(' ');
  try {
    return new Cron(pattern, { paused: true, timezone: timeZone, legacyMode: false });
  } catch {
    throw invalid();
  }
}

/** AWS's `0/15` ("starting at 0, every 15") is croner's `0-59/15`. */
function step(field: string, min: number, max: number): string {
  return field
    .split(',')
    .map((part) => {
      const m = /^(\d+)\/(\d+)$/.exec(part);
      return m ? `${m[1]}-${max}/${m[2]}` : part.replace(/^\*\//, `${min}-${max}/`);
    })
    .join(',');
}

/** AWS counts 1 (SUN) to 7 (SAT), croner 0 to 6; a lone `L` is the week's last day, SAT. */
function translateDayOfWeek(field: string): string {
  if (field.toUpperCase() === 'L') return '6';
  return field
    .toUpperCase()
    .replace(/#(\d)/g, '#n$1')
    .replace(/\b(SUN|MON|TUE|WED|THU|FRI|SAT)\b/g, (name) => String(DAY_NAMES.indexOf(name) + 1))
    .replace(/(^|[^n\d/])(\d+)/g, (_m, pre: string, n: string) => {
      const day = Number(n);
      if (day < 1 || day > 7)
        throw new ScheduleExpressionError('Parameter ScheduleExpression is not valid.');
      return `${pre}${day - 1}`;
    })
    .replace(/#n/g, '#');
}

/** `at(yyyy-mm-ddThh:mm:ss)` in the schedule's time zone. */
function parseAt(body: string, timeZone: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body.trim());
  if (!m) throw new ScheduleExpressionError('Invalid Schedule Expression ' + `at(${body}).`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const local = Date.UTC(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(local))
    throw new ScheduleExpressionError(`Invalid Schedule Expression at(${body}).`);
  return local - zoneOffsetMs(timeZone, local);
}

/** The zone's offset from UTC (ms) around `utcGuess` (a wall time read as if UTC). */
export function zoneOffsetMs(timeZone: string, utcGuess: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(utcGuess));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  return asUtc - utcGuess;
}

/** Whether `timeZone` is an IANA zone name this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The first firing strictly after `after` (ms). Rates count from `anchor` (the rule's
 * creation, or a schedule's start date); undefined when nothing is left (a past `at`).
 */
export function nextFiring(
  expr: ScheduleExpression,
  after: number,
  anchor: number,
): number | undefined {
  switch (expr.kind) {
    case 'rate': {
      const n = Math.floor((after - anchor) / expr.everyMs) + 1;
      return anchor + Math.max(n, 1) * expr.everyMs;
    }
    case 'cron': {
      const next = expr.cron.nextRun(new Date(after));
      return next ? next.getTime() : undefined;
    }
    case 'at':
      return expr.at > after ? expr.at : undefined;
    default:
      return assertNever(expr);
  }
}

function assertNever(x: never): never {
  throw new Error(`unexpected expression ${JSON.stringify(x)}`);
}
