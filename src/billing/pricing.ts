/**
 * Reading the price table: a usage type's rate in a region, tiered costs, unit lengths and
 * AWS's region codes in usage types (`USW2-Lambda-GB-Second`).
 */
import type { ServiceCode } from './meter.js';
import {
  PRICE_TABLE,
  type PriceTable,
  type ServicePrices,
  type Tier,
  type UsageTypePrice,
} from './price-table.js';

/** Which free tiers the bill applies (STRATUS_FREE_TIER; default: the always-free ones). */
export type FreeTierMode = 'always' | 'all' | 'none';

export function freeTierModeFrom(env: NodeJS.ProcessEnv = process.env): FreeTierMode {
  const v = env.STRATUS_FREE_TIER;
  return v === 'all' || v === 'none' ? v : 'always';
}

export interface Rate {
  service: ServicePrices;
  usageType: UsageTypePrice;
  /** The region whose rates these are (the fallback when the table has none for it). */
  pricedAs: string;
}

export function rateOf(
  region: string,
  service: ServiceCode,
  usageType: string,
  table: PriceTable = PRICE_TABLE,
): Rate | undefined {
  const pricedAs = table.regions[region]?.[service] ? region : table.fallbackRegion;
  const svc = table.regions[pricedAs]?.[service];
  const ut = svc?.usageTypes[usageType];
  return svc && ut ? { service: svc, usageType: ut, pricedAs } : undefined;
}

/** Cost of `quantity` units when `before` units of the month were already used. */
export function tieredCost(tiers: readonly Tier[], before: number, quantity: number): number {
  let cost = 0;
  let at = before;
  let left = quantity;
  for (const tier of tiers) {
    if (left <= 0) break;
    const room = tier.upTo === undefined ? left : Math.max(0, tier.upTo - at);
    const used = Math.min(room, left);
    cost += used * tier.price;
    at += used;
    left -= used;
  }
  return cost;
}

/** AWS's region codes as usage types carry them (eu-west-1 is plain `EU`). */
const REGION_CODES: Readonly<Record<string, string>> = {
  'us-east-1': 'USE1',
  'us-east-2': 'USE2',
  'us-west-1': 'USW1',
  'us-west-2': 'USW2',
  'ca-central-1': 'CAN1',
  'sa-east-1': 'SAE1',
  'eu-west-1': 'EU',
  'eu-west-2': 'EUW2',
  'eu-west-3': 'EUW3',
  'eu-central-1': 'EUC1',
  'eu-north-1': 'EUN1',
  'eu-south-1': 'EUS1',
  'ap-northeast-1': 'APN1',
  'ap-northeast-2': 'APN2',
  'ap-northeast-3': 'APN3',
  'ap-southeast-1': 'APS1',
  'ap-southeast-2': 'APS2',
  'ap-south-1': 'APS3',
  'ap-east-1': 'APE1',
  'me-south-1': 'MES1',
  'af-south-1': 'AFS1',
};

export function regionCode(region: string): string {
  return (
    REGION_CODES[region] ??
    region
      .split('-')
      .map((p, i) => (i === 2 ? p : p.slice(0, 1)))
      .join('')
      .toUpperCase()
  );
}

/** The usage type as a bill shows it: `USW2-Lambda-GB-Second`, `Lambda-GB-Second` at home. */
export function billedUsageType(region: string, service: ServiceCode, usageType: string): string {
  const prefixHome = rateOf(region, service, usageType)?.service.prefixHomeRegion ?? true;
  if (region === PRICE_TABLE.fallbackRegion && !prefixHome) return usageType;
  return `${regionCode(region)}-${usageType}`;
}

export function serviceName(service: ServiceCode): string {
  return PRICE_TABLE.regions[PRICE_TABLE.fallbackRegion]?.[service]?.name ?? service;
}

/** Epoch ms of the first instant of the (UTC) month `t` is in. */
export function monthStart(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

export function nextMonthStart(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

/** How many seconds one unit of a level lasts: an hour, or the month it falls in (GB-Mo). */
export function unitSeconds(unit: UsageTypePrice['unit'], at: number): number {
  switch (unit) {
    case 'Hrs':
    case 'vCPU-Hours':
    case 'GB-Hours':
      return 3600;
    case 'GB-Mo':
      return (nextMonthStart(at) - monthStart(at)) / 1000;
    case 'Minutes':
      return 60;
    case 'GB-Seconds':
    case 'Requests':
    case 'Events':
    case 'Messages':
      return 1;
  }
}
