/**
 * The bill: the ledger's hourly rows and levels priced as AWS prices them. Levels become
 * hourly rows first (integrated over time in the usage type's unit, with a run's minimum
 * length); then every row of a month is priced in time order, so monthly tiers, free tiers
 * ("per month and account", shared across regions) and Lightsail's monthly cap apply as
 * usage accrues, and the first hours of a month are the free ones.
 */
import { HOUR_MS, type HourRow, type Level, type UsageReader } from './meter.js';
import { PRICE_TABLE, type FreeTierOffer, type PriceTable } from './price-table.js';
import { monthStart, rateOf, tieredCost, unitSeconds, type FreeTierMode } from './pricing.js';

export interface LineItem extends HourRow {
  /** USD after free tiers. */
  cost: number;
  /** Units the free tier covered. */
  free: number;
  /** The region whose rates priced it (differs from `region` when the table has none). */
  pricedAs: string;
  /** Set when the table has no price for the usage type (cost 0). */
  unpriced?: true;
}

/** Free tier used in a month, per offer. */
export interface FreeTierUse {
  offer: FreeTierOffer;
  account: string;
  month: number;
  used: number;
}

export interface Bill {
  lines: LineItem[];
  freeTier: FreeTierUse[];
}

export interface BillOptions {
  freeTier: FreeTierMode;
  /** Epoch ms: running levels are billed up to here. */
  now: number;
  table?: PriceTable;
}

/**
 * Hourly rows for the levels, in [from, to): each series holds its value from one change to
 * the next (to `now` while it runs); a run that ended shorter than its minimum is billed the
 * minimum, the extra at its end.
 */
export function levelHours(
  levels: readonly Level[],
  from: number,
  to: number,
  now: number,
): HourRow[] {
  const bySeries = new Map<string, Level[]>();
  for (const l of levels) {
    const key = `${l.account}|${l.series}|${l.usageType}`;
    const list = bySeries.get(key);
    if (list) list.push(l);
    else bySeries.set(key, [l]);
  }
  const out = new Map<string, HourRow>();
  const add = (l: Level, value: number, start: number, end: number) => {
    const unit = rateOf(l.region, l.service, l.usageType)?.usageType.unit ?? 'Hrs';
    for (let t = Math.max(start, from); t < Math.min(end, to);) {
      const hour = t - (t % HOUR_MS);
      const stop = Math.min(end, to, hour + HOUR_MS);
      const quantity = (value * (stop - t)) / 1000 / unitSeconds(unit, t);
      const key = `${l.account}|${l.region}|${l.service}|${l.usageType}|${l.resource}|${hour}`;
      const row = out.get(key);
      if (row) row.quantity += quantity;
      else
        out.set(key, {
          account: l.account,
          region: l.region,
          service: l.service,
          usageType: l.usageType,
          resource: l.resource,
          hour,
          quantity,
        });
      t = stop;
    }
  };
  for (const series of bySeries.values()) {
    series.sort((a, b) => a.at - b.at);
    let runStart: number | undefined;
    for (let i = 0; i < series.length; i++) {
      const l = series[i];
      const end = i + 1 < series.length ? series[i + 1].at : Math.max(l.at, now);
      if (l.value > 0) {
        runStart ??= l.at;
        add(l, l.value, l.at, end);
      } else if (runStart !== undefined) {
        const minimum = (series[i - 1].minimumSeconds ?? 0) * 1000;
        const ran = l.at - runStart;
        if (ran < minimum) add(series[i - 1], series[i - 1].value, l.at, l.at + minimum - ran);
        runStart = undefined;
      }
    }
  }
  return [...out.values()].filter((r) => r.quantity > 0);
}

/**
 * Prices rows (counted and level-derived) of whole months: callers pass every row from the
 * first month's start, since tiers and free tiers depend on what came before.
 */
export function priceRows(rows: readonly HourRow[], opts: BillOptions): Bill {
  const table = opts.table ?? PRICE_TABLE;
  const offers = table.freeTier.filter(
    (o) => opts.freeTier === 'all' || (opts.freeTier === 'always' && o.term === 'always'),
  );
  const offerOf = new Map<string, FreeTierOffer>();
  for (const o of offers) for (const ut of o.usageTypes) offerOf.set(`${o.service}|${ut}`, o);
  const sorted = [...rows].sort(
    (a, b) =>
      a.hour - b.hour ||
      cmp(a.region, b.region) ||
      cmp(a.service, b.service) ||
      cmp(a.usageType, b.usageType) ||
      cmp(a.resource, b.resource),
  );
  const used = new Map<string, FreeTierUse>();
  const tierUse = new Map<string, number>();
  const capUse = new Map<string, number>();
  const lines: LineItem[] = [];
  for (const row of sorted) {
    const month = monthStart(row.hour);
    const rate = rateOf(row.region, row.service, row.usageType, table);
    if (!rate) {
      lines.push({ ...row, cost: 0, free: 0, pricedAs: row.region, unpriced: true });
      continue;
    }
    let free = 0;
    const offer = offerOf.get(`${row.service}|${row.usageType}`);
    if (offer) {
      const key = `${row.account}|${month}|${offer.id}`;
      const use = used.get(key) ?? { offer, account: row.account, month, used: 0 };
      free = Math.min(row.quantity, Math.max(0, offer.quantity - use.used));
      use.used += free;
      used.set(key, use);
    }
    const tierKey = `${row.account}|${row.region}|${month}|${row.service}|${row.usageType}`;
    const before = tierUse.get(tierKey) ?? 0;
    tierUse.set(tierKey, before + row.quantity - free);
    let cost = tieredCost(rate.usageType.tiers, before, row.quantity - free);
    const cap = rate.usageType.monthlyCap;
    if (cap !== undefined) {
      const capKey = `${row.account}|${month}|${row.resource}|${row.usageType}`;
      const spent = capUse.get(capKey) ?? 0;
      cost = Math.max(0, Math.min(cost, cap - spent));
      capUse.set(capKey, spent + cost);
    }
    lines.push({ ...row, cost, free, pricedAs: rate.pricedAs });
  }
  return { lines, freeTier: [...used.values()] };
}

/** Everything `[from, to)` costs: rows of whole months read, the window's lines kept. */
export async function billFor(
  source: UsageReader,
  account: string,
  from: number,
  to: number,
  opts: BillOptions,
): Promise<Bill> {
  const start = monthStart(from);
  const counted = await source.hours(account, start, to);
  const levels = levelHours(await source.levelChanges(account), start, to, opts.now);
  const bill = priceRows([...counted, ...levels], opts);
  return {
    lines: bill.lines.filter((l) => l.hour >= from - (from % HOUR_MS) && l.hour < to),
    freeTier: bill.freeTier,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
