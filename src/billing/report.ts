/**
 * The cost report: what the recorded workload would have cost on AWS over a window (by
 * default the month so far), per service, per usage type, per function or task family,
 * with the free tier used. The same numbers Cost Explorer's GetCostAndUsage answers (both
 * read bill.ts); `stratus cost` prints it (text.ts) and Stratus serves it as a page.
 */
import { billFor, type Bill } from './bill.js';
import type { UsageReader } from './meter.js';
import { PRICE_TABLE } from './price-table.js';
import { billedUsageType, monthStart, rateOf, serviceName, type FreeTierMode } from './pricing.js';
import { whatIf, type Invocation, type WhatIf } from './what-if.js';

export interface CostReport {
  account: string;
  from: string;
  to: string;
  currency: 'USD';
  /** When the price table's figures were read. */
  pricesTaken: string;
  freeTier: FreeTierMode;
  total: number;
  services: ServiceCost[];
  freeTierUsed: { description: string; used: number; allowance: number; term: string }[];
  notes: string[];
  whatIf?: WhatIf;
}

export interface ServiceCost {
  code: string;
  name: string;
  cost: number;
  usage: { usageType: string; unit: string; quantity: number; free: number; cost: number }[];
  /** Functions, task families, repositories, buckets… by cost. */
  resources: { name: string; resource: string; cost: number }[];
}

export interface ReportOptions {
  account: string;
  from?: number;
  to?: number;
  now?: number;
  freeTier: FreeTierMode;
  /** The invocations for the what-if (undefined: no what-if). */
  invocations?: (from: number, to: number) => Promise<Invocation[]>;
}

/** `arn:…:function:name` → name; `…:task-definition/family` → family; a bucket's ARN → bucket. */
export function resourceName(resource: string): string {
  const tail = resource.split(':').slice(5).join(':');
  const afterSlash = tail.includes('/') ? tail.slice(tail.indexOf('/') + 1) : tail;
  const name = afterSlash.startsWith('function:') ? afterSlash.slice(9) : afterSlash;
  return name || resource;
}

export async function costReport(reader: UsageReader, opts: ReportOptions): Promise<CostReport> {
  const now = opts.now ?? Date.now();
  const to = opts.to ?? now;
  const from = opts.from ?? monthStart(to - 1);
  const bill = await billFor(reader, opts.account, from, to, { freeTier: opts.freeTier, now });
  const report: CostReport = {
    account: opts.account,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    currency: 'USD',
    pricesTaken: PRICE_TABLE.taken,
    freeTier: opts.freeTier,
    total: 0,
    services: summarise(bill),
    freeTierUsed: bill.freeTier
      .filter((f) => f.month === monthStart(to - 1))
      .map((f) => ({
        description: f.offer.description,
        used: f.used,
        allowance: f.offer.quantity,
        term: f.offer.term,
      })),
    notes: notesOf(bill),
  };
  report.total = report.services.reduce((s, v) => s + v.cost, 0);
  if (opts.invocations) {
    // A default window starts at the first invocation of the month: a workload recorded
    // since this morning is not diluted by the days before Stratus ran it.
    const rows = await opts.invocations(from, to);
    const first = rows.reduce((m, r) => Math.min(m, r.timestamp - r.billedDurationMs), to);
    const start = opts.from ?? Math.min(first, to - 1000);
    report.whatIf = whatIf(rows, start, to);
  }
  return report;
}

function summarise(bill: Bill): ServiceCost[] {
  const services = new Map<string, ServiceCost>();
  const usage = new Map<string, ServiceCost['usage'][number]>();
  const resources = new Map<string, ServiceCost['resources'][number]>();
  for (const l of bill.lines) {
    let s = services.get(l.service);
    if (!s) {
      s = { code: l.service, name: serviceName(l.service), cost: 0, usage: [], resources: [] };
      services.set(l.service, s);
    }
    s.cost += l.cost;
    const ut = billedUsageType(l.region, l.service, l.usageType);
    const uKey = `${l.service}|${ut}`;
    let u = usage.get(uKey);
    if (!u) {
      const unit = rateOf(l.region, l.service, l.usageType)?.usageType.unit ?? 'N/A';
      u = { usageType: ut, unit, quantity: 0, free: 0, cost: 0 };
      usage.set(uKey, u);
      s.usage.push(u);
    }
    u.quantity += l.quantity;
    u.free += l.free;
    u.cost += l.cost;
    const rKey = `${l.service}|${l.resource}`;
    let r = resources.get(rKey);
    if (!r) {
      r = { name: resourceName(l.resource), resource: l.resource, cost: 0 };
      resources.set(rKey, r);
      s.resources.push(r);
    }
    r.cost += l.cost;
  }
  const out = [...services.values()].sort((a, b) => b.cost - a.cost || (a.name < b.name ? -1 : 1));
  for (const s of out) {
    s.usage.sort((a, b) => b.cost - a.cost || b.quantity - a.quantity);
    s.resources.sort((a, b) => b.cost - a.cost);
  }
  return out;
}

function notesOf(bill: Bill): string[] {
  const notes = new Set<string>();
  for (const l of bill.lines) {
    if (l.unpriced) notes.add(`${l.service} ${l.usageType}: not in the price table, counted at $0`);
    else if (l.pricedAs !== l.region)
      notes.add(`${l.region}: priced at ${l.pricedAs} rates (the table has none for it)`);
  }
  return [...notes];
}
