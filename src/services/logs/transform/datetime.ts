/**
 * The `dateTimeConverter` processor's patterns: Java DateTimeFormatter letters (yyyy, yy, MM,
 * MMM, MMMM, dd, d, HH, H, hh, h, mm, ss, SSS, a, EEE, Z, XXX, X, 'literal').
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Transformation-Datatype.html
 */
import { zoneOffsetMs } from '../../../events/schedule-expression.js';

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

type Token = { lit: string } | { field: string };

function tokenize(pattern: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) throw new Error(`Unterminated quote in date pattern: ${pattern}`);
      out.push({ lit: end === i + 1 ? "'" : pattern.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      out.push({ field: pattern.slice(i, j) });
      i = j;
    } else {
      out.push({ lit: c });
      i++;
    }
  }
  return out;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const FIELD_RE: Record<string, string> = {
  yyyy: '(\\d{4})',
  uuuu: '(\\d{4})',
  yy: '(\\d{2})',
  MM: '(\\d{2})',
  M: '(\\d{1,2})',
  MMM: '([A-Za-z]{3})',
  MMMM: '([A-Za-z]+)',
  dd: '(\\d{2})',
  d: '(\\d{1,2})',
  HH: '(\\d{2})',
  H: '(\\d{1,2})',
  hh: '(\\d{2})',
  h: '(\\d{1,2})',
  mm: '(\\d{2})',
  ss: '(\\d{2})',
  S: '(\\d)',
  SS: '(\\d{2})',
  SSS: '(\\d{3})',
  SSSSSS: '(\\d{6})',
  a: '(AM|PM|am|pm)',
  EEE: '([A-Za-z]{3})',
  EEEE: '([A-Za-z]+)',
  Z: '([+-]\\d{4})',
  X: '(Z|[+-]\\d{2}(?:\\d{2})?)',
  XX: '(Z|[+-]\\d{4})',
  XXX: '(Z|[+-]\\d{2}:\\d{2})',
  z: '([A-Za-z]{1,5})',
};

export interface DateParser {
  /** Epoch milliseconds, or undefined when the text does not match. */
  parse(text: string, zone: string): number | undefined;
}

/** Offset (ms) of `zone` at the UTC instant `utcMs` (schedule-expression.ts reads it). */
function zoneOffset(zone: string, utcMs: number): number {
  if (zone === 'UTC' || zone === 'GMT' || zone === 'Z') return 0;
  return zoneOffsetMs(zone, Math.floor(utcMs / 1000) * 1000);
}

function offsetMs(text: string): number {
  if (text === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})?$/.exec(text);
  if (!m) return 0;
  const v = (Number(m[2]) * 60 + Number(m[3] ?? 0)) * 60_000;
  return m[1] === '-' ? -v : v;
}

export function compileDateParser(pattern: string): DateParser {
  const tokens = tokenize(pattern);
  const fields: string[] = [];
  let source = '^';
  for (const t of tokens) {
    if ('lit' in t) source += esc(t.lit);
    else {
      const re = FIELD_RE[t.field];
      if (re === undefined) throw new Error(`Unsupported date pattern letters: ${t.field}`);
      fields.push(t.field);
      source += re;
    }
  }
  const regex = new RegExp(source + '$');
  return {
    parse(text, zone) {
      const m = regex.exec(text.trim());
      if (!m) return undefined;
      let year = 1970,
        month = 0,
        day = 1,
        hour = 0,
        minute = 0,
        second = 0,
        ms = 0;
      let pm: boolean | undefined;
      let offset: number | undefined;
      fields.forEach((f, i) => {
        const v = m[i + 1];
        switch (f) {
          case 'yyyy':
          case 'uuuu':
            year = Number(v);
            break;
          case 'yy':
            year = 2000 + Number(v);
            break;
          case 'MM':
          case 'M':
            month = Number(v) - 1;
            break;
          case 'MMM':
          case 'MMMM':
            month = MONTHS.findIndex((n) =>
              n.toLowerCase().startsWith(v.toLowerCase().slice(0, 3)),
            );
            break;
          case 'dd':
          case 'd':
            day = Number(v);
            break;
          case 'HH':
          case 'H':
          case 'hh':
          case 'h':
            hour = Number(v);
            break;
          case 'mm':
            minute = Number(v);
            break;
          case 'ss':
            second = Number(v);
            break;
          case 'S':
          case 'SS':
          case 'SSS':
          case 'SSSSSS':
            ms = Math.floor(Number(`0.${v}`) * 1000);
            break;
          case 'a':
            pm = v.toUpperCase() === 'PM';
            break;
          case 'Z':
          case 'X':
          case 'XX':
          case 'XXX':
            offset = offsetMs(v);
            break;
          default:
            break;
        }
      });
      if (month < 0) return undefined;
      if (pm !== undefined) hour = (hour % 12) + (pm ? 12 : 0);
      const local = Date.UTC(year, month, day, hour, minute, second, ms);
      if (offset !== undefined) return local - offset;
      // Local wall time in `zone`: correct by the zone's offset at (about) that instant.
      const guess = local - zoneOffset(zone, local);
      return local - zoneOffset(zone, guess);
    },
  };
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Formats epoch milliseconds with a Java-style pattern in `zone`. */
export function formatDate(pattern: string, epochMs: number, zone: string): string {
  const off = zoneOffset(zone, epochMs);
  const d = new Date(epochMs + off);
  let out = '';
  for (const t of tokenize(pattern)) {
    if ('lit' in t) {
      out += t.lit;
      continue;
    }
    const h = d.getUTCHours();
    switch (t.field) {
      case 'yyyy':
      case 'uuuu':
        out += pad(d.getUTCFullYear(), 4);
        break;
      case 'yy':
        out += pad(d.getUTCFullYear() % 100, 2);
        break;
      case 'MM':
        out += pad(d.getUTCMonth() + 1, 2);
        break;
      case 'M':
        out += String(d.getUTCMonth() + 1);
        break;
      case 'MMM':
        out += MONTHS[d.getUTCMonth()].slice(0, 3);
        break;
      case 'MMMM':
        out += MONTHS[d.getUTCMonth()];
        break;
      case 'dd':
        out += pad(d.getUTCDate(), 2);
        break;
      case 'd':
        out += String(d.getUTCDate());
        break;
      case 'HH':
        out += pad(h, 2);
        break;
      case 'H':
        out += String(h);
        break;
      case 'hh':
        out += pad(h % 12 || 12, 2);
        break;
      case 'h':
        out += String(h % 12 || 12);
        break;
      case 'mm':
        out += pad(d.getUTCMinutes(), 2);
        break;
      case 'ss':
        out += pad(d.getUTCSeconds(), 2);
        break;
      case 'S':
        out += String(Math.floor(d.getUTCMilliseconds() / 100));
        break;
      case 'SS':
        out += pad(Math.floor(d.getUTCMilliseconds() / 10), 2);
        break;
      case 'SSS':
        out += pad(d.getUTCMilliseconds(), 3);
        break;
      case 'SSSSSS':
        out += pad(d.getUTCMilliseconds(), 3) + '000';
        break;
      case 'a':
        out += h < 12 ? 'AM' : 'PM';
        break;
      case 'EEE':
        out += DAYS[d.getUTCDay()].slice(0, 3);
        break;
      case 'EEEE':
        out += DAYS[d.getUTCDay()];
        break;
      case 'Z':
      case 'X':
      case 'XX':
      case 'XXX': {
        if (off === 0 && t.field !== 'Z') {
          out += 'Z';
          break;
        }
        const abs = Math.abs(off) / 60_000;
        const sign = off < 0 ? '-' : '+';
        const sep = t.field === 'XXX' ? ':' : '';
        out += sign + pad(Math.floor(abs / 60), 2) + sep + pad(abs % 60, 2);
        break;
      }
      default:
        throw new Error(`Unsupported date pattern letters: ${t.field}`);
    }
  }
  return out;
}

/** Checks a pattern both ways (PutTransformer refuses what it cannot read). */
export function checkDatePattern(pattern: string): void {
  compileDateParser(pattern);
  formatDate(pattern, 0, 'UTC');
}
