/**
 * The bill against AWS's price pages, to the cent: the seed's worked example, the pages' own
 * examples, and one case per service and rule (tiers, free tiers, Arm, ephemeral storage,
 * Fargate's one-minute minimum and Spot, Lightsail's hourly plans and trial, storage
 * GB-months, S3 request tiers, API Gateway).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { levelHours, priceRows, type LineItem } from './bill.js';
import type { HourRow, Level, ServiceCode } from './meter.js';
import type { FreeTierMode } from './pricing.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
/** A 30-day month (June 2026) and a 31-day one (July 2026). */
const JUNE = Date.UTC(2026, 5, 1);
const JULY = Date.UTC(2026, 6, 1);
const HOUR = 3_600_000;

function row(service: ServiceCode, usageType: string, quantity: number, hour = JUNE): HourRow {
  return { account: ACCOUNT, region: REGION, service, usageType, resource: 'r', hour, quantity };
}

/** N invocations of `seconds` at `memoryMb`: the request and duration rows. */
function lambda(n: number, seconds: number, memoryMb: number, arch: 'x86' | 'arm' = 'x86') {
  const suffix = arch === 'arm' ? '-ARM' : '';
  return [
    row('AWSLambda', `Request${suffix}`, n),
    row('AWSLambda', `Lambda-GB-Second${suffix}`, (n * seconds * memoryMb) / 1024),
  ];
}

/** A run of `value` from `start` for `seconds` (a level up, then down). */
function run(
  service: ServiceCode,
  usageType: string,
  series: string,
  value: number,
  start: number,
  seconds: number,
  minimumSeconds?: number,
): Level[] {
  const base = { account: ACCOUNT, region: REGION, service, usageType, resource: 'r', series };
  return [
    { ...base, value, at: start, ...(minimumSeconds !== undefined && { minimumSeconds }) },
    { ...base, value: 0, at: start + seconds * 1000 },
  ];
}

function fargate(tasks: number, vcpu: number, gb: number, seconds: number, spot = false) {
  const prefix = spot ? 'SpotUsage-' : '';
  const levels: Level[] = [];
  for (let i = 0; i < tasks; i++) {
    levels.push(
      ...run('AmazonECS', `${prefix}Fargate-vCPU-Hours:perCPU`, `t${i}`, vcpu, JUNE, seconds, 60),
      ...run('AmazonECS', `${prefix}Fargate-GB-Hours`, `t${i}`, gb, JUNE, seconds, 60),
    );
  }
  return levelHours(levels, JUNE, JULY, JULY);
}

const total = (lines: LineItem[]) => lines.reduce((s, l) => s + l.cost, 0);
const cents = (usd: number) => Math.round(usd * 100) / 100;

interface Case {
  name: string;
  rows: () => HourRow[];
  freeTier?: FreeTierMode;
  /** USD, to the cent, with the price page's arithmetic. */
  expected: number;
  arithmetic: string;
}

const CASES: Case[] = [
  {
    name: "seed's example: 512 MB using exactly the free tier",
    rows: () => lambda(1_000_000, 0.8, 512),
    expected: 0,
    arithmetic: '1M requests free; 1M × 0.8 s × 0.5 GB = 400,000 GB-s free',
  },
  {
    name: "seed's example: 3 million requests of 1 s at 1,024 MB",
    rows: () => lambda(3_000_000, 1, 1024),
    expected: 43.73,
    arithmetic: '(3M − 1M) × $0.20/M = $0.40; (3M − 400,000) GB-s × $0.0000166667 = $43.33',
  },
  {
    name: 'the same without the free tier',
    rows: () => lambda(3_000_000, 1, 1024),
    freeTier: 'none',
    expected: 50.6,
    arithmetic: '3M × $0.20/M = $0.60; 3M GB-s × $0.0000166667 = $50.00',
  },
  {
    name: 'the same on Arm',
    rows: () => lambda(3_000_000, 1, 1024, 'arm'),
    expected: 35.07,
    arithmetic: '$0.40; 2.6M GB-s × $0.0000133334 = $34.67',
  },
  {
    name: "AWS's page: 128 MB, 30M invocations of 200 ms",
    rows: () => lambda(30_000_000, 0.2, 128),
    expected: 11.63,
    arithmetic: '29M × $0.20/M = $5.80; (750,000 − 400,000) GB-s × $0.0000166667 = $5.83',
  },
  {
    name: 'the seed slide\'s "$1.00 for 600,000 GB-seconds" is $10.00 at AWS\'s rate',
    rows: () => [row('AWSLambda', 'Lambda-GB-Second', 600_000)],
    freeTier: 'none',
    expected: 10,
    arithmetic: '600,000 × $0.0000166667 = $10.00 ($1 buys 60,000 GB-s)',
  },
  {
    name: 'ephemeral storage: 2,048 MB configured, 3M invocations of 1 s',
    rows: () => [row('AWSLambda', 'Lambda-Storage-Gb-Second', 3_000_000 * 1 * 1.5)],
    expected: 0.14,
    arithmetic: '(2,048 − 512) MB = 1.5 GB × 3M s × $0.0000000309 = $0.139',
  },
  {
    name: 'duration tiers: 7 billion GB-s in a month',
    rows: () => [row('AWSLambda', 'Lambda-GB-Second', 7e9)],
    expected: 114_994.2,
    arithmetic: '6e9 × $0.0000166667 + (1e9 − 400,000) × $0.000015',
  },
  {
    name: 'Fargate: 10 tasks of 0.25 vCPU / 0.5 GB for 30 days',
    rows: () => fargate(10, 0.25, 0.5, 30 * 86_400),
    expected: 88.87,
    arithmetic: '10 × 0.25 × 720 h × $0.04048 = $72.864; 10 × 0.5 × 720 × $0.004445 = $16.002',
  },
  {
    name: "Fargate's one-minute minimum: 1,000 tasks of 1 vCPU / 2 GB that ran 20 s",
    rows: () => fargate(1000, 1, 2, 20),
    expected: 0.82,
    arithmetic: '1,000 × 60 s = 16.667 h × ($0.04048 + 2 × $0.004445) = $0.8228',
  },
  {
    name: 'Fargate Spot: 4 vCPU / 8 GB for 100 hours',
    rows: () => fargate(1, 4, 8, 100 * 3600, true),
    expected: 5.92,
    arithmetic: '400 vCPU-h × $0.012144 + 800 GB-h × $0.0013335',
  },
  {
    name: 'Lightsail: the $5 plan for 100 hours',
    rows: () =>
      levelHours(
        run('AmazonLightsail', 'Bundle:0.5GB', 'web', 1, JUNE, 100 * 3600),
        JUNE,
        JULY,
        JULY,
      ),
    expected: 0.67,
    arithmetic: '100 × $0.0067 (AWS\'s FAQ: "67 cents (100*0.0067)")',
  },
  {
    name: 'Lightsail: the $7 plan for a whole 31-day month',
    rows: () =>
      levelHours(
        run('AmazonLightsail', 'Bundle:1GB', 'web', 1, JULY, 31 * 86_400),
        JULY,
        Date.UTC(2026, 7, 1),
        Date.UTC(2026, 7, 1),
      ),
    expected: 6.99,
    arithmetic: '744 h × $0.0094 = $6.9936, under the $7 cap',
  },
  {
    name: "Lightsail's trial: 744 hours of the $5 plan with new-account free tiers",
    rows: () =>
      levelHours(
        run('AmazonLightsail', 'Bundle:0.5GB', 'web', 1, JULY, 31 * 86_400),
        JULY,
        Date.UTC(2026, 7, 1),
        Date.UTC(2026, 7, 1),
      ),
    freeTier: 'all',
    expected: 0,
    arithmetic: '750 free hours ≥ 744',
  },
  {
    name: 'ECR: 2 GB stored all month, new account',
    rows: () =>
      levelHours(
        run('AmazonECR', 'TimedStorage-ByteHrs', 'repo', 2, JUNE, 30 * 86_400),
        JUNE,
        JULY,
        JULY,
      ),
    freeTier: 'all',
    expected: 0.15,
    arithmetic: '(2 − 0.5) GB-Mo × $0.10',
  },
  {
    name: 'S3: 100 GB for a month, 1M PUTs, 10M GETs',
    rows: () => [
      ...levelHours(
        run('AmazonS3', 'TimedStorage-ByteHrs', 'bucket', 100, JUNE, 30 * 86_400),
        JUNE,
        JULY,
        JULY,
      ),
      row('AmazonS3', 'Requests-Tier1', 1_000_000),
      row('AmazonS3', 'Requests-Tier2', 10_000_000),
    ],
    expected: 11.3,
    arithmetic: '100 × $0.023 + 1,000 × $0.005 + 10,000 × $0.0004',
  },
  {
    name: 'API Gateway: 10M REST requests, new account',
    rows: () => [row('AmazonApiGateway', 'ApiGatewayRequest', 10_000_000)],
    freeTier: 'all',
    expected: 31.5,
    arithmetic: '(10M − 1M) × $3.50/M',
  },
];

for (const c of CASES) {
  test(`bill: ${c.name} = $${c.expected.toFixed(2)}`, () => {
    const bill = priceRows(c.rows(), { freeTier: c.freeTier ?? 'always', now: JULY });
    assert.equal(cents(total(bill.lines)), c.expected, c.arithmetic);
  });
}

test('the free tier goes to the first usage of the month, and starts again the next month', () => {
  const rows = [
    row('AWSLambda', 'Request', 800_000, JUNE),
    row('AWSLambda', 'Request', 800_000, JUNE + HOUR),
    row('AWSLambda', 'Request', 800_000, JULY),
  ];
  const { lines, freeTier } = priceRows(rows, { freeTier: 'always', now: JULY + HOUR });
  assert.deepEqual(
    lines.map((l) => [l.free, cents(l.cost)]),
    [
      [800_000, 0],
      [200_000, 0.12],
      [800_000, 0],
    ],
  );
  assert.deepEqual(
    freeTier.map((f) => [f.month, f.used]),
    [
      [JUNE, 1_000_000],
      [JULY, 800_000],
    ],
  );
});

test('a level that is still running is billed up to now', () => {
  const levels = run('AmazonECS', 'Fargate-vCPU-Hours:perCPU', 't', 1, JUNE, 10 * 3600).slice(0, 1);
  const rows = levelHours(levels, JUNE, JULY, JUNE + 2.5 * HOUR);
  assert.deepEqual(
    rows.map((r) => [r.hour - JUNE, r.quantity]),
    [
      [0, 1],
      [HOUR, 1],
      [2 * HOUR, 0.5],
    ],
  );
});

test('a region the table has no rates for is priced at us-east-1 rates, and says so', () => {
  const r = { ...row('AWSLambda', 'Request', 2_000_000), region: 'eu-west-1' };
  const [line] = priceRows([r], { freeTier: 'none', now: JULY }).lines;
  assert.equal(line.pricedAs, 'us-east-1');
  assert.equal(cents(line.cost), 0.4);
});
