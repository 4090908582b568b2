/**
 * `stratus cost --what-if`: the recorded Lambda workload priced three ways for a month
 * (730 hours, AWS's monthly figure), at the request rate observed over the window:
 *  - as Lambda (requests + GB-seconds, with the always-free tier);
 *  - as always-on Fargate tasks sized to it (the peak of concurrent invocations × memory,
 *    and Lambda's CPU share: one vCPU per 1,769 MB);
 *  - as an always-on server of that memory: the smallest Lightsail plan or EC2 instance.
 * and the break-even request rate at which Lambda costs as much as the cheapest server:
 * the seed's "for consistently high-traffic applications, EC2 might be cheaper", computed
 * from the user's own numbers.
 */
import { PRICE_TABLE } from './price-table.js';
import { rateOf, tieredCost } from './pricing.js';

/** One invocation as the what-if needs it (Lambda's usage rows). */
export interface Invocation {
  functionName: string;
  /** Epoch ms when it ended. */
  timestamp: number;
  billedDurationMs: number;
  memoryMb: number;
  architecture: 'x86_64' | 'arm64';
}

export interface Option {
  kind: 'lambda' | 'fargate' | 'lightsail' | 'ec2';
  /** What it would run on, e.g. '3 × 0.5 vCPU / 1 GB tasks', 'Lightsail small_3_0 (2 GB)'. */
  what: string;
  monthly: number;
}

export interface WhatIf {
  window: { from: string; to: string; seconds: number };
  observed: {
    requests: number;
    gbSeconds: number;
    requestsPerSecond: number;
    meanBilledMs: number;
    /** The most invocations running at once. */
    peakConcurrency: number;
    /** GB the peak held (concurrency × memory). */
    peakGb: number;
  };
  /** Requests a month at the observed rate. */
  monthlyRequests: number;
  options: Option[];
  cheapest: Option['kind'];
  /** Where Lambda costs what the cheapest always-on server does. */
  breakEven?: { server: string; requestsPerMonth: number; requestsPerSecond: number };
  /** Why nothing was priced (no invocations in the window). */
  empty?: string;
}

export const MONTH_HOURS = 730;
const MONTH_SECONDS = MONTH_HOURS * 3600;
/** "At 1,769 MB, a function has the equivalent of one vCPU." */
const MB_PER_VCPU = 1769;
const REGION = PRICE_TABLE.fallbackRegion;

function price(service: 'AWSLambda' | 'AmazonECS' | 'AmazonEC2', usageType: string): number {
  const rate = rateOf(REGION, service, usageType);
  if (!rate) throw new Error(`the price table has no ${service} ${usageType}`);
  return rate.usageType.tiers[0].price;
}

/** Lambda's monthly bill for `requests` of `gbPerRequest` each, free tier applied. */
export function lambdaMonthly(requests: number, gbPerRequest: number, arm: boolean): number {
  const free = (id: string) => PRICE_TABLE.freeTier.find((o) => o.id === id)?.quantity ?? 0;
  const suffix = arm ? '-ARM' : '';
  const req = rateOf(REGION, 'AWSLambda', `Request${suffix}`)!.usageType.tiers;
  const dur = rateOf(REGION, 'AWSLambda', `Lambda-GB-Second${suffix}`)!.usageType.tiers;
  return (
    tieredCost(req, 0, Math.max(0, requests - free('lambda-requests'))) +
    tieredCost(dur, 0, Math.max(0, requests * gbPerRequest - free('lambda-duration')))
  );
}

/** Fargate's valid sizes (CPU units → memory MiB), from the ECS developer guide. */
const FARGATE_SIZES: readonly [number, number[]][] = [
  [256, [512, 1024, 2048]],
  [512, [1024, 2048, 3072, 4096]],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
];

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** The cheapest Fargate size with at least this memory and CPU, as `count` tasks if need be. */
export function fargateFor(gb: number, vcpu: number): Option {
  const cpuHour = price('AmazonECS', 'Fargate-vCPU-Hours:perCPU');
  const gbHour = price('AmazonECS', 'Fargate-GB-Hours');
  const [maxCpu, maxMems] = FARGATE_SIZES[FARGATE_SIZES.length - 1];
  const maxMem = maxMems[maxMems.length - 1];
  const count = Math.max(1, Math.ceil(gb / (maxMem / 1024)), Math.ceil(vcpu / (maxCpu / 1024)));
  const perGb = gb / count;
  const perCpu = vcpu / count;
  let best: { cpu: number; mem: number; hourly: number } | undefined;
  for (const [cpu, mems] of FARGATE_SIZES) {
    if (cpu / 1024 < perCpu) continue;
    const mem = mems.find((m) => m / 1024 >= perGb);
    if (mem === undefined) continue;
    const hourly = (cpu / 1024) * cpuHour + (mem / 1024) * gbHour;
    if (!best || hourly < best.hourly) best = { cpu, mem, hourly };
  }
  const b = best ?? { cpu: maxCpu, mem: maxMem, hourly: 0 };
  return {
    kind: 'fargate',
    what: `${count} × ${b.cpu / 1024} vCPU / ${b.mem / 1024} GB task${count > 1 ? 's' : ''}, always on`,
    monthly: count * b.hourly * MONTH_HOURS,
  };
}

/** Lightsail plans by memory (usage type, bundle id, GB). */
const LIGHTSAIL: readonly [string, string, number][] = [
  ['Bundle:0.5GB', 'nano_3_0', 0.5],
  ['Bundle:1GB', 'micro_3_0', 1],
  ['Bundle:2GB', 'small_3_0', 2],
  ['Bundle:4GB', 'medium_3_0', 4],
  ['Bundle:8GB', 'large_3_0', 8],
  ['Bundle:16GB', 'xlarge_3_0', 16],
  ['Bundle:32GB', '2xlarge_3_0', 32],
];

const EC2: readonly [string, number, number][] = [
  ['t3.micro', 1, 2],
  ['t3.small', 2, 2],
  ['t3.medium', 4, 2],
  ['t3.large', 8, 2],
  ['t3.xlarge', 16, 4],
  ['t3.2xlarge', 32, 8],
];

function lightsailFor(gb: number): Option | undefined {
  const plan = LIGHTSAIL.find(([, , mem]) => mem >= gb);
  if (!plan) return undefined;
  const rate = rateOf(REGION, 'AmazonLightsail', plan[0])!.usageType;
  return {
    kind: 'lightsail',
    what: `Lightsail ${plan[1]} (${plan[2]} GB), always on`,
    monthly: rate.monthlyCap ?? rate.tiers[0].price * MONTH_HOURS,
  };
}

function ec2For(gb: number, vcpu: number): Option | undefined {
  const type = EC2.find(([, mem, cpus]) => mem >= gb && cpus >= vcpu);
  if (!type) return undefined;
  return {
    kind: 'ec2',
    what: `EC2 ${type[0]} (${type[1]} GiB, ${type[2]} vCPU), always on`,
    monthly: price('AmazonEC2', `BoxUsage:${type[0]}`) * MONTH_HOURS,
  };
}

/** The most invocations running at once (each ran the billed duration before it ended). */
export function peakOf(rows: readonly Invocation[]): { concurrency: number; gb: number } {
  const events: [number, number, number][] = [];
  for (const r of rows) {
    events.push([r.timestamp - r.billedDurationMs, 1, r.memoryMb / 1024]);
    events.push([r.timestamp, -1, -r.memoryMb / 1024]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let gb = 0;
  let peak = 0;
  let peakGb = 0;
  for (const [, d, g] of events) {
    n += d;
    gb += g;
    if (n > peak) peak = n;
    if (gb > peakGb) peakGb = gb;
  }
  return { concurrency: peak, gb: peakGb };
}

export function whatIf(rows: readonly Invocation[], from: number, to: number): WhatIf {
  const seconds = Math.max(1, (to - from) / 1000);
  const window = { from: new Date(from).toISOString(), to: new Date(to).toISOString(), seconds };
  const inWindow = rows.filter((r) => r.timestamp >= from && r.timestamp < to);
  const requests = inWindow.length;
  const gbSeconds = inWindow.reduce(
    (s, r) => s + (r.memoryMb / 1024) * (r.billedDurationMs / 1000),
    0,
  );
  const peak = peakOf(inWindow);
  const observed = {
    requests,
    gbSeconds,
    requestsPerSecond: requests / seconds,
    meanBilledMs: requests ? inWindow.reduce((s, r) => s + r.billedDurationMs, 0) / requests : 0,
    peakConcurrency: peak.concurrency,
    peakGb: peak.gb,
  };
  if (requests === 0) {
    return {
      window,
      observed,
      monthlyRequests: 0,
      options: [],
      cheapest: 'lambda',
      empty: 'no Lambda invocations were recorded in this window',
    };
  }
  const arm = inWindow.filter((r) => r.architecture === 'arm64').length > requests / 2;
  const gbPerRequest = gbSeconds / requests;
  const monthlyRequests = (requests / seconds) * MONTH_SECONDS;
  const gb = Math.max(peak.gb, 0.5);
  const vcpu = Math.max(0.25, (peak.gb * 1024) / MB_PER_VCPU);
  const options: Option[] = [
    {
      kind: 'lambda',
      what: `${fmtCount(monthlyRequests)} requests of ${observed.meanBilledMs.toFixed(0)} ms a month`,
      monthly: lambdaMonthly(monthlyRequests, gbPerRequest, arm),
    },
    fargateFor(gb, vcpu),
  ];
  const servers = [lightsailFor(gb), ec2For(gb, vcpu)].filter((o): o is Option => !!o);
  options.push(...servers);
  const cheapest = options.reduce((a, b) => (b.monthly < a.monthly ? b : a));
  const server = servers.reduce<Option | undefined>(
    (a, b) => (!a || b.monthly < a.monthly ? b : a),
    undefined,
  );
  const breakEven = server && {
    server: server.what,
    requestsPerMonth: breakEvenRequests(server.monthly, gbPerRequest, arm),
    requestsPerSecond: 0,
  };
  if (breakEven) breakEven.requestsPerSecond = breakEven.requestsPerMonth / MONTH_SECONDS;
  return {
    window,
    observed,
    monthlyRequests,
    options,
    cheapest: cheapest.kind,
    ...(breakEven && { breakEven }),
  };
}

/** Requests a month at which Lambda's bill reaches `monthly` (the bill rises with requests). */
export function breakEvenRequests(monthly: number, gbPerRequest: number, arm: boolean): number {
  let lo = 0;
  let hi = 1e6;
  while (lambdaMonthly(hi, gbPerRequest, arm) < monthly && hi < 1e15) hi *= 2;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (lambdaMonthly(mid, gbPerRequest, arm) < monthly) lo = mid;
    else hi = mid;
  }
  return Math.round(hi);
}

export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}
