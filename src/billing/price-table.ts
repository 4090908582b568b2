/**
 * AWS's public prices, as data: per region, per service, per usage type, with the free
 * tiers. Nothing here is computed; pricing.ts reads it.
 *
 * Where the figures come from (no network on the machines Stratus is built on: they were
 * read from stored copies of these pages on the date below, and agree with third-party
 * quotes of March 2026): the AWS pricing pages named in each service's `source`.
 * Regions not listed are priced at `fallbackRegion`'s rates, and the report says so.
 *
 * Units: a usage type's `unit` is what its quantity counts; prices are USD per one unit
 * (so $0.20 per 1M requests is 0.0000002). `tiers` are monthly: the first `upTo` units of a
 * month at the first price, and so on (Lambda's "First 6 Billion GB-seconds / month").
 */
import type { ServiceCode } from './meter.js';

export type Unit =
  | 'Requests'
  | 'GB-Seconds'
  | 'Hrs'
  | 'vCPU-Hours'
  | 'GB-Hours'
  | 'GB-Mo'
  | 'Events'
  | 'Messages'
  | 'Minutes';

export interface Tier {
  /** Cumulative units in the month this price applies up to; the last tier has none. */
  upTo?: number;
  price: number;
}

export interface UsageTypePrice {
  unit: Unit;
  description: string;
  tiers: readonly Tier[];
  /** Lightsail: "we charge you the fixed hourly price, up to the maximum monthly plan cost". */
  monthlyCap?: number;
}

export interface ServicePrices {
  /** Cost Explorer's SERVICE dimension value. */
  name: string;
  source: string;
  /**
   * Whether the usage type carries the region code in the price table's home region too
   * (Fargate's `USE1-Fargate-vCPU-Hours:perCPU`; Lambda's is plain `Lambda-GB-Second`).
   */
  prefixHomeRegion: boolean;
  usageTypes: Readonly<Record<string, UsageTypePrice>>;
}

export interface FreeTierOffer {
  id: string;
  service: ServiceCode;
  /** The usage types that draw on one allowance (x86 and Arm Lambda share theirs). */
  usageTypes: readonly string[];
  /** Units free per account per calendar month. */
  quantity: number;
  /** `always`: every account, every month; `12-months`/`trial`: new accounts only. */
  term: 'always' | '12-months' | 'trial';
  description: string;
}

export interface PriceTable {
  /** The date the figures were read (YYYY-MM-DD). */
  taken: string;
  currency: 'USD';
  /** The region whose rates price regions not listed in `regions`. */
  fallbackRegion: string;
  regions: Readonly<Record<string, Readonly<Partial<Record<ServiceCode, ServicePrices>>>>>;
  freeTier: readonly FreeTierOffer[];
}

const M = 1_000_000;
const perMillion = (usd: number) => usd / M;
const flat = (price: number): readonly Tier[] => [{ price }];
/** Lightsail's hourly rate is its monthly price over 744 hours ($5 → $0.0067/hour), capped. */
const bundle = (monthly: number, hourly: number, what: string): UsageTypePrice => ({
  unit: 'Hrs',
  description: `Lightsail ${what} Linux instance, $${monthly}/month`,
  tiers: flat(hourly),
  monthlyCap: monthly,
});

const US_EAST_1: Partial<Record<ServiceCode, ServicePrices>> = {
  AWSLambda: {
    name: 'AWS Lambda',
    source: 'https://aws.amazon.com/lambda/pricing/',
    prefixHomeRegion: false,
    usageTypes: {
      Request: { unit: 'Requests', description: 'Requests (x86)', tiers: flat(perMillion(0.2)) },
      'Request-ARM': {
        unit: 'Requests',
        description: 'Requests (Arm)',
        tiers: flat(perMillion(0.2)),
      },
      'Lambda-GB-Second': {
        unit: 'GB-Seconds',
        description: 'Duration (x86), 1 ms granularity, INIT included',
        tiers: [
          { upTo: 6e9, price: 0.0000166667 },
          { upTo: 15e9, price: 0.000015 },
          { price: 0.0000133334 },
        ],
      },
      'Lambda-GB-Second-ARM': {
        unit: 'GB-Seconds',
        description: 'Duration (Arm), 1 ms granularity, INIT included',
        tiers: [
          { upTo: 7.5e9, price: 0.0000133334 },
          { upTo: 18.75e9, price: 0.0000120001 },
          { price: 0.0000106667 },
        ],
      },
      'Lambda-Storage-Gb-Second': {
        unit: 'GB-Seconds',
        description: 'Ephemeral storage configured beyond the free 512 MB',
        tiers: flat(0.0000000309),
      },
      'Lambda-Provisioned-Concurrency': {
        unit: 'GB-Seconds',
        description: 'Provisioned concurrency configured (x86)',
        tiers: flat(0.0000041667),
      },
      'Lambda-Provisioned-Concurrency-ARM': {
        unit: 'GB-Seconds',
        description: 'Provisioned concurrency configured (Arm)',
        tiers: flat(0.0000033334),
      },
    },
  },
  AmazonECS: {
    name: 'Amazon Elastic Container Service',
    source: 'https://aws.amazon.com/fargate/pricing/',
    prefixHomeRegion: true,
    usageTypes: {
      'Fargate-vCPU-Hours:perCPU': {
        unit: 'vCPU-Hours',
        description: 'Fargate vCPU (Linux/x86), per second, one-minute minimum',
        tiers: flat(0.04048),
      },
      'Fargate-GB-Hours': {
        unit: 'GB-Hours',
        description: 'Fargate memory (Linux/x86), per second, one-minute minimum',
        tiers: flat(0.004445),
      },
      'Fargate-ARM-vCPU-Hours:perCPU': {
        unit: 'vCPU-Hours',
        description: 'Fargate vCPU (Linux/Arm)',
        tiers: flat(0.03238),
      },
      'Fargate-ARM-GB-Hours': {
        unit: 'GB-Hours',
        description: 'Fargate memory (Linux/Arm)',
        tiers: flat(0.00356),
      },
      // Spot prices move with capacity; AWS quotes "up to a 70% discount": that is what
      // these are (30% of the on-demand rates above).
      'SpotUsage-Fargate-vCPU-Hours:perCPU': {
        unit: 'vCPU-Hours',
        description: 'Fargate Spot vCPU (Linux/x86)',
        tiers: flat(0.012144),
      },
      'SpotUsage-Fargate-GB-Hours': {
        unit: 'GB-Hours',
        description: 'Fargate Spot memory (Linux/x86)',
        tiers: flat(0.0013335),
      },
      'Fargate-EphemeralStorage-GB-Hours': {
        unit: 'GB-Hours',
        description: 'Fargate ephemeral storage beyond the included 20 GB',
        tiers: flat(0.000111),
      },
    },
  },
  AmazonECR: {
    name: 'Amazon EC2 Container Registry (ECR)',
    source: 'https://aws.amazon.com/ecr/pricing/',
    prefixHomeRegion: true,
    usageTypes: {
      'TimedStorage-ByteHrs': {
        unit: 'GB-Mo',
        description: 'Private repository storage',
        tiers: flat(0.1),
      },
    },
  },
  AmazonS3: {
    name: 'Amazon Simple Storage Service',
    source: 'https://aws.amazon.com/s3/pricing/',
    prefixHomeRegion: false,
    usageTypes: {
      'TimedStorage-ByteHrs': {
        unit: 'GB-Mo',
        description: 'S3 Standard storage',
        tiers: [
          { upTo: 50 * 1024, price: 0.023 },
          { upTo: 500 * 1024, price: 0.022 },
          { price: 0.021 },
        ],
      },
      'Requests-Tier1': {
        unit: 'Requests',
        description: 'PUT, COPY, POST, LIST requests',
        tiers: flat(0.005 / 1000),
      },
      'Requests-Tier2': {
        unit: 'Requests',
        description: 'GET, SELECT and all other requests',
        tiers: flat(0.0004 / 1000),
      },
    },
  },
  AmazonApiGateway: {
    name: 'Amazon API Gateway',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    prefixHomeRegion: false,
    usageTypes: {
      ApiGatewayRequest: {
        unit: 'Requests',
        description: 'REST API requests',
        tiers: [
          { upTo: 333 * M, price: perMillion(3.5) },
          { upTo: 1000 * M, price: perMillion(2.8) },
          { upTo: 20_000 * M, price: perMillion(2.38) },
          { price: perMillion(1.51) },
        ],
      },
      ApiGatewayHttpRequest: {
        unit: 'Requests',
        description: 'HTTP API requests (each 512 KB counts as one)',
        tiers: [{ upTo: 300 * M, price: perMillion(1.0) }, { price: perMillion(0.9) }],
      },
      ApiGatewayMessage: {
        unit: 'Messages',
        description: 'WebSocket messages (each 32 KB counts as one)',
        tiers: [{ upTo: 1000 * M, price: perMillion(1.0) }, { price: perMillion(0.8) }],
      },
      ApiGatewayMinute: {
        unit: 'Minutes',
        description: 'WebSocket connection minutes',
        tiers: flat(perMillion(0.25)),
      },
    },
  },
  AWSEvents: {
    name: 'Amazon EventBridge',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
    prefixHomeRegion: false,
    usageTypes: {
      'Event-64K-Chunks': {
        unit: 'Events',
        description:
          'Custom events published (each 64 KB counts as one; AWS service events are free)',
        tiers: flat(perMillion(1.0)),
      },
      'Scheduler-Invocation': {
        unit: 'Requests',
        description: 'EventBridge Scheduler invocations',
        tiers: flat(perMillion(1.0)),
      },
    },
  },
  AmazonLightsail: {
    name: 'Amazon Lightsail',
    source:
      'https://aws.amazon.com/lightsail/pricing/ and https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-frequently-asked-questions-faq-billing-and-account-management.html',
    prefixHomeRegion: true,
    usageTypes: {
      'Bundle:0.5GB': bundle(5, 0.0067, '512 MB, 2 vCPU, 20 GB SSD (nano_3_0)'),
      'Bundle:1GB': bundle(7, 0.0094, '1 GB, 2 vCPU, 40 GB SSD (micro_3_0)'),
      'Bundle:2GB': bundle(12, 0.0161, '2 GB, 2 vCPU, 60 GB SSD (small_3_0)'),
      'Bundle:4GB': bundle(24, 0.0323, '4 GB, 2 vCPU, 80 GB SSD (medium_3_0)'),
      'Bundle:8GB': bundle(44, 0.0591, '8 GB, 2 vCPU, 160 GB SSD (large_3_0)'),
      'Bundle:16GB': bundle(84, 0.1129, '16 GB, 4 vCPU, 320 GB SSD (xlarge_3_0)'),
      'Bundle:32GB': bundle(164, 0.2204, '32 GB, 8 vCPU, 640 GB SSD (2xlarge_3_0)'),
    },
  },
  AmazonEC2: {
    name: 'Amazon Elastic Compute Cloud - Compute',
    source: 'https://aws.amazon.com/ec2/pricing/on-demand/',
    prefixHomeRegion: false,
    usageTypes: {
      'BoxUsage:t3.micro': {
        unit: 'Hrs',
        description: 't3.micro, 2 vCPU, 1 GiB',
        tiers: flat(0.0104),
      },
      'BoxUsage:t3.small': {
        unit: 'Hrs',
        description: 't3.small, 2 vCPU, 2 GiB',
        tiers: flat(0.0208),
      },
      'BoxUsage:t3.medium': {
        unit: 'Hrs',
        description: 't3.medium, 2 vCPU, 4 GiB',
        tiers: flat(0.0416),
      },
      'BoxUsage:t3.large': {
        unit: 'Hrs',
        description: 't3.large, 2 vCPU, 8 GiB',
        tiers: flat(0.0832),
      },
      'BoxUsage:t3.xlarge': {
        unit: 'Hrs',
        description: 't3.xlarge, 4 vCPU, 16 GiB',
        tiers: flat(0.1664),
      },
      'BoxUsage:t3.2xlarge': {
        unit: 'Hrs',
        description: 't3.2xlarge, 8 vCPU, 32 GiB',
        tiers: flat(0.3328),
      },
    },
  },
};

export const PRICE_TABLE: PriceTable = {
  taken: '2026-12-03',
  currency: 'USD',
  fallbackRegion: 'us-east-1',
  regions: { 'us-east-1': US_EAST_1 },
  freeTier: [
    {
      id: 'lambda-requests',
      service: 'AWSLambda',
      usageTypes: ['Request', 'Request-ARM'],
      quantity: 1_000_000,
      term: 'always',
      description: 'Lambda: 1 million requests a month',
    },
    {
      id: 'lambda-duration',
      service: 'AWSLambda',
      usageTypes: ['Lambda-GB-Second', 'Lambda-GB-Second-ARM'],
      quantity: 400_000,
      term: 'always',
      description: 'Lambda: 400,000 GB-seconds a month (x86 and Arm together)',
    },
    {
      id: 'scheduler-invocations',
      service: 'AWSEvents',
      usageTypes: ['Scheduler-Invocation'],
      quantity: 14_000_000,
      term: 'always',
      description: 'EventBridge Scheduler: 14 million invocations a month',
    },
    {
      id: 'ecr-storage',
      service: 'AmazonECR',
      usageTypes: ['TimedStorage-ByteHrs'],
      quantity: 0.5,
      term: '12-months',
      description: 'ECR: 500 MB-month of private repository storage',
    },
    {
      id: 's3-storage',
      service: 'AmazonS3',
      usageTypes: ['TimedStorage-ByteHrs'],
      quantity: 5,
      term: '12-months',
      description: 'S3: 5 GB-month of Standard storage',
    },
    {
      id: 's3-tier1',
      service: 'AmazonS3',
      usageTypes: ['Requests-Tier1'],
      quantity: 2_000,
      term: '12-months',
      description: 'S3: 2,000 PUT, COPY, POST or LIST requests',
    },
    {
      id: 's3-tier2',
      service: 'AmazonS3',
      usageTypes: ['Requests-Tier2'],
      quantity: 20_000,
      term: '12-months',
      description: 'S3: 20,000 GET requests',
    },
    {
      id: 'apigateway-rest',
      service: 'AmazonApiGateway',
      usageTypes: ['ApiGatewayRequest'],
      quantity: 1_000_000,
      term: '12-months',
      description: 'API Gateway: 1 million REST API calls',
    },
    {
      id: 'apigateway-http',
      service: 'AmazonApiGateway',
      usageTypes: ['ApiGatewayHttpRequest'],
      quantity: 1_000_000,
      term: '12-months',
      description: 'API Gateway: 1 million HTTP API calls',
    },
    {
      id: 'apigateway-messages',
      service: 'AmazonApiGateway',
      usageTypes: ['ApiGatewayMessage'],
      quantity: 1_000_000,
      term: '12-months',
      description: 'API Gateway: 1 million WebSocket messages',
    },
    {
      id: 'apigateway-minutes',
      service: 'AmazonApiGateway',
      usageTypes: ['ApiGatewayMinute'],
      quantity: 750_000,
      term: '12-months',
      description: 'API Gateway: 750,000 WebSocket connection minutes',
    },
    {
      id: 'lightsail-nano',
      service: 'AmazonLightsail',
      usageTypes: ['Bundle:0.5GB'],
      quantity: 750,
      term: 'trial',
      description: 'Lightsail: 750 hours of the $5 plan (first three months)',
    },
  ],
};
