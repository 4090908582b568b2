/**
 * What Cost Explorer's operations share: the bill for a request's period (bill.ts over the
 * gateway's usage ledger), AWS's dimension values of a line item, filter expressions, time
 * periods and the exact validation errors.
 * https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_Expression.html
 */
import type {
  DateInterval,
  Dimension,
  Expression,
  Granularity,
  MatchOption,
} from '../../api/ce/types.js';
import { billFor, type LineItem } from '../../billing/bill.js';
import type { UsageReader } from '../../billing/meter.js';
import { billedUsageType, serviceName, type FreeTierMode } from '../../billing/pricing.js';
import type { ResourcePolicySource } from '../../policy/sources.js';
import { AwsError } from '../../shared/errors.js';

export interface CeDeps {
  usage: UsageReader;
  /** Resource tags by ARN (each service answers for its own). */
  resources: readonly ResourcePolicySource[];
  freeTier: FreeTierMode;
  now(): number;
}

export const validation = (message: string) =>
  new AwsError('ValidationException', 400, true, message);

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const HOUR = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** `YYYY-MM-DD` (or `YYYY-MM-DDThh:mm:ssZ` for HOURLY) → epoch ms, Start before End. */
export function periodOf(p: DateInterval, granularity?: Granularity): [number, number] {
  const parse = (s: string, what: string) => {
    const ok = DAY.test(s) || (granularity === 'HOURLY' && HOUR.test(s));
    const t = Date.parse(DAY.test(s) ? `${s}T00:00:00Z` : s);
    if (!ok || Number.isNaN(t)) {
      throw validation(
        granularity === 'HOURLY'
          ? `${what} date is invalid: ${s}. Use the format yyyy-MM-ddTHH:mm:ssZ or yyyy-MM-dd`
          : `${what} date is invalid: ${s}. Use the format yyyy-MM-dd`,
      );
    }
    return t;
  };
  const start = parse(p.Start, 'Start');
  const end = parse(p.End, 'End');
  if (start >= end) throw validation('Start date (and hour) should be before end date (and hour)');
  return [start, end];
}

/** The periods a granularity cuts [start, end) into (months and days are UTC calendar ones). */
export function buckets(start: number, end: number, g: Granularity): [number, number][] {
  const out: [number, number][] = [];
  for (let t = start; t < end;) {
    const d = new Date(t);
    const next =
      g === 'HOURLY'
        ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1)
        : g === 'DAILY'
          ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
          : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    out.push([t, Math.min(next, end)]);
    t = Math.min(next, end);
  }
  return out;
}

/** How a period is written back: days for DAILY and MONTHLY, hours for HOURLY. */
export function formatTime(t: number, g: Granularity | undefined): string {
  const iso = new Date(t).toISOString();
  return g === 'HOURLY' ? `${iso.slice(0, 19)}Z` : iso.slice(0, 10);
}

export async function linesFor(
  deps: CeDeps,
  account: string,
  start: number,
  end: number,
): Promise<LineItem[]> {
  const bill = await billFor(deps.usage, account, start, end, {
    freeTier: deps.freeTier,
    now: deps.now(),
  });
  return bill.lines;
}

/** The dimensions Stratus's line items have values for. */
export const DIMENSIONS = [
  'SERVICE',
  'SERVICE_CODE',
  'USAGE_TYPE',
  'LINKED_ACCOUNT',
  'REGION',
  'RECORD_TYPE',
  'RESOURCE_ID',
  'PURCHASE_TYPE',
] as const satisfies readonly Dimension[];

export function dimensionValue(line: LineItem, d: Dimension): string | undefined {
  switch (d) {
    case 'SERVICE':
      return serviceName(line.service);
    case 'SERVICE_CODE':
      return line.service;
    case 'USAGE_TYPE':
      return billedUsageType(line.region, line.service, line.usageType);
    case 'LINKED_ACCOUNT':
      return line.account;
    case 'REGION':
      return line.region;
    case 'RECORD_TYPE':
      return 'Usage';
    case 'RESOURCE_ID':
      return line.resource;
    case 'PURCHASE_TYPE':
      return 'On Demand Instances';
    default:
      return undefined;
  }
}

/** Tags of the resources lines are billed on, looked up once per request. */
export class TagLookup {
  private readonly cache = new Map<string, Promise<Readonly<Record<string, string>>>>();
  constructor(private readonly sources: readonly ResourcePolicySource[]) {}

  of(arn: string): Promise<Readonly<Record<string, string>>> {
    let tags = this.cache.get(arn);
    if (!tags) {
      const prefix = arn.split(':')[2];
      const source = this.sources.find((s) => s.prefix === prefix);
      tags = source
        ? source
            .resource(arn)
            .then((r) => r?.tags ?? {})
            .catch(() => ({}))
        : Promise.resolve({});
      this.cache.set(arn, tags);
    }
    return tags;
  }
}

function matches(
  value: string | undefined,
  wanted: readonly string[],
  options: readonly MatchOption[],
) {
  if (options.includes('ABSENT')) return value === undefined || value === '';
  if (value === undefined) return false;
  const insensitive = options.includes('CASE_INSENSITIVE');
  const v = insensitive ? value.toLowerCase() : value;
  return wanted.some((w0) => {
    const w = insensitive ? w0.toLowerCase() : w0;
    if (options.includes('STARTS_WITH')) return v.startsWith(w);
    if (options.includes('ENDS_WITH')) return v.endsWith(w);
    if (options.includes('CONTAINS')) return v.includes(w);
    return v === w;
  });
}

/** Checks an expression's shape as AWS does: exactly one of its members. */
export function checkExpression(e: Expression): void {
  const set = [e.And, e.Or, e.Not, e.Dimensions, e.Tags, e.CostCategories].filter(
    (x) => x !== undefined,
  );
  if (set.length !== 1)
    throw validation(
      'Expression has more than one roots. Only one root operator is allowed for each expression: And, Or, Not, Dimensions, Tags, CostCategories',
    );
  if (e.And) {
    if (e.And.length < 2) throw validation('And expression must have at least 2 operands');
    e.And.forEach(checkExpression);
  }
  if (e.Or) {
    if (e.Or.length < 2) throw validation('Or expression must have at least 2 operands');
    e.Or.forEach(checkExpression);
  }
  if (e.Not) checkExpression(e.Not);
  if (e.Dimensions) {
    if (!e.Dimensions.Key) throw validation('Dimension key is required');
    if (!e.Dimensions.Values?.length) throw validation('Dimension values are required');
  }
}

export async function keep(e: Expression, line: LineItem, tags: TagLookup): Promise<boolean> {
  if (e.And) {
    for (const x of e.And) if (!(await keep(x, line, tags))) return false;
    return true;
  }
  if (e.Or) {
    for (const x of e.Or) if (await keep(x, line, tags)) return true;
    return false;
  }
  if (e.Not) return !(await keep(e.Not, line, tags));
  if (e.Dimensions) {
    const d = e.Dimensions;
    return matches(dimensionValue(line, d.Key!), d.Values ?? [], d.MatchOptions ?? ['EQUALS']);
  }
  if (e.Tags) {
    const t = e.Tags;
    const value = t.Key !== undefined ? (await tags.of(line.resource))[t.Key] : undefined;
    return matches(value, t.Values ?? [], t.MatchOptions ?? ['EQUALS']);
  }
  // Stratus defines no cost categories: nothing is in one.
  return false;
}

export async function filterLines(
  lines: LineItem[],
  filter: Expression | undefined,
  tags: TagLookup,
): Promise<LineItem[]> {
  if (!filter) return lines;
  checkExpression(filter);
  const out: LineItem[] = [];
  for (const l of lines) if (await keep(filter, l, tags)) out.push(l);
  return out;
}

/** An amount as Cost Explorer writes it: a decimal string, no exponent. */
export function amount(n: number): string {
  if (n === 0 || !Number.isFinite(n)) return '0';
  // Ten significant digits however small (a second of stored bytes is 1e-13 GB-months).
  const digits = Math.min(100, Math.max(10, 10 - Math.floor(Math.log10(Math.abs(n)))));
  return n.toFixed(digits).replace(/0+$/, '').replace(/\.$/, '');
}
