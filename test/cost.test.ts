/**
 * The bill through real clients: Lambda invocations metered as AWS bills them (requests and
 * the GB-seconds of the REPORT lines' billed durations), Cost Explorer (SDK v3, the AWS CLI,
 * boto3) agreeing with `stratus cost` and its page, and `stratus cost --what-if` choosing
 * Lambda for a bursty workload and the always-on server for a steady one.
 * The server runs with STRATUS_FREE_TIER=none so that a few invocations cost something.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CostExplorerClient,
  GetCostAndUsageCommand,
  GetCostForecastCommand,
  GetTagsCommand,
} from '@aws-sdk/client-cost-explorer';
import type { CostReport } from '../src/billing/report.js';
import { awsCli, curl, python } from './helpers/clients.js';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  DeleteProvisionedConcurrencyConfigCommand,
  PublishVersionCommand,
  PutProvisionedConcurrencyConfigCommand,
} from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { pushImage } from './helpers/ecr.js';
import { eventually, nodeZip, openInvokeFixture, type InvokeFixture } from './helpers/lambda.js';
import { clientConfig } from './helpers/server.js';
import { runStratus } from './helpers/process.js';
import { awayFromMidnightUtc, day, DAY_MS } from './helpers/cost.js';

const SLEEPER = (ms: number) =>
  `exports.handler = async () => { await new Promise((r) => setTimeout(r, ${ms})); return 'ok'; };\n`;

/** Sums the billed durations of REPORT lines in base64 log tails. */
function billedMs(tails: (string | undefined)[]): number {
  let total = 0;
  for (const t of tails) {
    const m = /Billed Duration: (\d+) ms/.exec(Buffer.from(t ?? '', 'base64').toString('utf8'));
    assert.ok(m, 'every tail has a REPORT line');
    total += Number(m[1]);
  }
  return total;
}

describe('the bill: Cost Explorer, stratus cost and --what-if', () => {
  let fx: InvokeFixture;
  let ce: CostExplorerClient;
  let endpoint: string;
  const previous = process.env.STRATUS_FREE_TIER;
  const stratusCost = async (args: string[]) => {
    const r = await runStratus(['cost', ...args], { STRATUS_ENDPOINT: endpoint });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    // The tests compare one day's (and the month's) figures from several sources: none
    // may straddle midnight UTC.
    await awayFromMidnightUtc(10 * 60_000);
    process.env.STRATUS_FREE_TIER = 'none';
    fx = await openInvokeFixture();
    endpoint = fx.server.endpoint;
    ce = new CostExplorerClient(clientConfig(endpoint));
  });

  after(async () => {
    if (previous === undefined) delete process.env.STRATUS_FREE_TIER;
    else process.env.STRATUS_FREE_TIER = previous;
    ce.destroy();
    await fx.close();
  });

  test('a bursty workload: requests and GB-seconds billed as REPORT says; --what-if picks Lambda', async () => {
    await fx.create('bursty', { MemorySize: 256, Tags: { team: 'billing' } });
    const outs = await Promise.all(
      Array.from({ length: 6 }, () => fx.invoke('bursty', { n: 1 }, { LogType: 'Tail' })),
    );
    for (const o of outs) assert.equal(o.StatusCode, 200);
    const gbSeconds = (256 / 1024) * (billedMs(outs.map((o) => o.LogResult)) / 1000);
    const now = Date.now();

    // Cost Explorer: the day's usage by usage type, from the SDK v3. Usage is recorded off
    // the invoke path (buffered a few milliseconds): wait for all six requests.
    const groups = await eventually('six requests metered', async () => {
      const byType = await ce.send(
        new GetCostAndUsageCommand({
          TimePeriod: { Start: day(now), End: day(now + DAY_MS) },
          Granularity: 'DAILY',
          Metrics: ['UnblendedCost', 'UsageQuantity'],
          GroupBy: [{ Type: 'DIMENSION', Key: 'USAGE_TYPE' }],
          Filter: { Tags: { Key: 'team', Values: ['billing'] } },
        }),
      );
      const found = byType.ResultsByTime?.[0]?.Groups ?? [];
      const requests = found.find((g) => g.Keys?.[0] === 'Request');
      return Number(requests?.Metrics?.UsageQuantity?.Amount) === 6 ? found : undefined;
    });
    const quantity = (type: string) =>
      Number(groups.find((g) => g.Keys?.[0] === type)?.Metrics?.UsageQuantity?.Amount);
    assert.equal(quantity('Request'), 6);
    assert.ok(
      Math.abs(quantity('Lambda-GB-Second') - gbSeconds) < 1e-6,
      `${quantity('Lambda-GB-Second')} vs ${gbSeconds}`,
    );
    const cost = (type: string) =>
      Number(groups.find((g) => g.Keys?.[0] === type)?.Metrics?.UnblendedCost?.Amount);
    assert.ok(Math.abs(cost('Request') - 6 * 0.0000002) < 1e-12);
    assert.ok(Math.abs(cost('Lambda-GB-Second') - gbSeconds * 0.0000166667) < 1e-9);

    // GetTags sees the function's tag.
    const tags = await ce.send(
      new GetTagsCommand({ TimePeriod: { Start: day(now), End: day(now + DAY_MS) } }),
    );
    assert.deepEqual(tags.Tags, ['team']);

    // The what-if over the last hour: six requests an hour is a job for Lambda.
    const out = JSON.parse(
      await stratusCost(['--what-if', '--json', '--from', new Date(now - 3_600_000).toISOString()]),
    ) as CostReport;
    const w = out.whatIf!;
    assert.equal(w.cheapest, 'lambda', JSON.stringify(w));
    assert.ok(w.breakEven && w.monthlyRequests < w.breakEven.requestsPerMonth);
    assert.deepEqual(
      w.options.map((o) => o.kind),
      ['lambda', 'fargate', 'lightsail', 'ec2'],
    );
    const text = await stratusCost([
      '--what-if',
      '--from',
      new Date(now - 3_600_000).toISOString(),
    ]);
    assert.match(text, /lambda .*← cheapest/);
    assert.match(text, /break-even: .* requests a month .*below it Lambda is cheaper/);
  });

  test('GetCostAndUsage by SERVICE (SDK v3, AWS CLI, boto3) agrees with stratus cost and its page', async () => {
    const now = Date.now();
    const month = new Date(now).toISOString().slice(0, 8) + '01';
    const report = JSON.parse(await stratusCost(['--json'])) as CostReport;
    const lambda = report.services.find((s) => s.code === 'AWSLambda');
    assert.ok(lambda && lambda.cost > 0, JSON.stringify(report));
    assert.match(await stratusCost([]), /AWS Lambda\s+\$0\.0+[1-9]\d?\s+█/);

    const sdk = await ce.send(
      new GetCostAndUsageCommand({
        TimePeriod: { Start: month, End: day(now + DAY_MS) },
        Granularity: 'MONTHLY',
        Metrics: ['UnblendedCost'],
        GroupBy: [{ Type: 'DIMENSION', Key: 'SERVICE' }],
      }),
    );
    const bySdk = Object.fromEntries(
      (sdk.ResultsByTime ?? [])
        .flatMap((r) => r.Groups ?? [])
        .map((g) => [g.Keys![0], Number(g.Metrics!.UnblendedCost.Amount)]),
    );
    assert.deepEqual(
      Object.keys(bySdk),
      report.services.map((s) => s.name),
    );
    for (const s of report.services) assert.ok(Math.abs(bySdk[s.name] - s.cost) < 1e-9, s.name);

    const cli = await awsCli(endpoint, [
      'ce',
      'get-cost-and-usage',
      '--time-period',
      `Start=${month},End=${day(now + DAY_MS)}`,
      '--granularity',
      'MONTHLY',
      '--metrics',
      'UnblendedCost',
      '--group-by',
      'Type=DIMENSION,Key=SERVICE',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const byCli = JSON.parse(cli.stdout) as {
      ResultsByTime: {
        Groups: { Keys: string[]; Metrics: { UnblendedCost: { Amount: string } } }[];
      }[];
    };
    const cliLambda = byCli.ResultsByTime.flatMap((r) => r.Groups).find(
      (g) => g.Keys[0] === 'AWS Lambda',
    );
    assert.ok(Math.abs(Number(cliLambda?.Metrics.UnblendedCost.Amount) - lambda.cost) < 1e-9);

    const py = await python(
      endpoint,
      `
import boto3, json, os, datetime
ce = boto3.client('ce', endpoint_url=os.environ['ENDPOINT'])
today = datetime.date.today()
period = {'Start': today.isoformat(), 'End': (today + datetime.timedelta(days=1)).isoformat()}
print(json.dumps({
  'services': [v['Value'] for v in ce.get_dimension_values(TimePeriod=period, Dimension='SERVICE')['DimensionValues']],
  'team': ce.get_tags(TimePeriod=period, TagKey='team')['Tags'],
}))
`,
    );
    assert.equal(py.code, 0, py.stderr);
    assert.deepEqual(JSON.parse(py.stdout), { services: ['AWS Lambda'], team: ['billing'] });

    // The page: HTML for a browser, the same JSON for a client that asks for it.
    const page = await curl([`${endpoint}/_stratus/cost`]);
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /text\/html/);
    assert.match(page.body, /AWS Lambda/);
    const asJson = await curl(['-H', 'accept: application/json', `${endpoint}/_stratus/cost`]);
    assert.equal((JSON.parse(asJson.body) as CostReport).total, report.total);
  });

  test('bad input gets AWS errors; a forecast follows the recorded trend', async () => {
    const now = Date.now();
    await assert.rejects(
      ce.send(
        new GetCostAndUsageCommand({
          TimePeriod: { Start: day(now), End: day(now) },
          Granularity: 'DAILY',
          Metrics: ['UnblendedCost'],
        }),
      ),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) =>
        err.name === 'ValidationException' &&
        err.$metadata?.httpStatusCode === 400 &&
        /Start date \(and hour\) should be before end date/.test(err.message),
    );
    await assert.rejects(
      ce.send(
        new GetCostAndUsageCommand({
          TimePeriod: { Start: day(now), End: day(now + DAY_MS) },
          Granularity: 'DAILY',
          Metrics: ['Dollars'],
        }),
      ),
      { name: 'ValidationException' },
    );
    const page = await curl([`${endpoint}/_stratus/cost?from=yesterday`]);
    assert.equal(page.status, 400);

    const forecast = await ce.send(
      new GetCostForecastCommand({
        TimePeriod: { Start: day(now), End: day(now + 7 * DAY_MS) },
        Granularity: 'DAILY',
        Metric: 'UNBLENDED_COST',
      }),
    );
    assert.equal(forecast.ForecastResultsByTime?.length, 7);
    assert.ok(Number(forecast.Total?.Amount) > 0);
  });

  test('a steady workload: --what-if picks the always-on server, with the break-even', async () => {
    await fx.create('steady', {
      MemorySize: 1024,
      Code: { ZipFile: nodeZip(SLEEPER(300)) },
    });
    const CONCURRENCY = 8;
    // Warm: the environments' cold starts are not part of the steady state measured.
    await Promise.all(Array.from({ length: CONCURRENCY }, () => fx.invoke('steady')));
    const from = Date.now();
    const until = from + 6_000;
    let count = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < until) {
          const o = await fx.invoke('steady');
          assert.equal(o.StatusCode, 200);
          count++;
        }
      }),
    );
    const to = Date.now();
    const out = JSON.parse(
      await stratusCost([
        '--what-if',
        '--json',
        '--from',
        new Date(from).toISOString(),
        '--to',
        new Date(to).toISOString(),
      ]),
    ) as CostReport;
    const w = out.whatIf!;
    // The warm-up's rows may end a moment after its answers, inside the window.
    assert.ok(
      Math.abs(w.observed.requests - count) <= CONCURRENCY,
      `${w.observed.requests} vs ${count}`,
    );
    assert.notEqual(w.cheapest, 'lambda', JSON.stringify(w));
    assert.ok(w.cheapest === 'lightsail' || w.cheapest === 'ec2', w.cheapest);
    assert.ok(w.breakEven && w.monthlyRequests > w.breakEven.requestsPerMonth, JSON.stringify(w));
    const lambda = w.options.find((o) => o.kind === 'lambda')!;
    const server = w.options.find((o) => o.kind === w.cheapest)!;
    assert.ok(lambda.monthly > server.monthly);
  });

  // Last: stored bytes cost by the second, so the figures above would move under it.
  test('ECR storage and S3 requests and storage are metered as AWS bills them', async () => {
    const ecr = new ECRClient(clientConfig(endpoint));
    const s3 = new S3Client({ ...clientConfig(endpoint), forcePathStyle: true });
    try {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: 'billed' }));
      const pushedAt = Date.now();
      const image = await pushImage(ecr, 'billed', 'v1', 1 << 20);
      const stored = image.config.size + image.layers[0].size;
      await s3.send(new CreateBucketCommand({ Bucket: 'billed' }));
      for (const key of ['a', 'b', 'c']) {
        await s3.send(new PutObjectCommand({ Bucket: 'billed', Key: key, Body: 'x'.repeat(1000) }));
      }
      for (const key of ['a', 'b']) {
        const o = await s3.send(new GetObjectCommand({ Bucket: 'billed', Key: key }));
        await o.Body?.transformToString();
      }
      const now = Date.now();
      const usage = async (service: string) => {
        const out = await ce.send(
          new GetCostAndUsageCommand({
            TimePeriod: { Start: day(now), End: day(now + DAY_MS) },
            Granularity: 'DAILY',
            Metrics: ['UsageQuantity', 'UnblendedCost'],
            GroupBy: [{ Type: 'DIMENSION', Key: 'USAGE_TYPE' }],
            Filter: { Dimensions: { Key: 'SERVICE', Values: [service] } },
          }),
        );
        return Object.fromEntries(
          (out.ResultsByTime?.[0]?.Groups ?? []).map((g) => [
            g.Keys![0],
            Number(g.Metrics!.UsageQuantity.Amount),
          ]),
        );
      };
      const s3Usage = await eventually('S3 storage metered', async () => {
        const u = await usage('Amazon Simple Storage Service');
        return u['TimedStorage-ByteHrs'] > 0 ? u : undefined;
      });
      assert.equal(s3Usage['Requests-Tier1'], 4, 'CreateBucket and three PUTs');
      assert.equal(s3Usage['Requests-Tier2'], 2, 'two GETs');
      const ecrUsage = await usage('Amazon EC2 Container Registry (ECR)');
      const gbMonths = ecrUsage['USE1-TimedStorage-ByteHrs'];
      const month = new Date(now);
      const monthSeconds =
        (Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1) -
          Date.UTC(month.getUTCFullYear(), month.getUTCMonth(), 1)) /
        1000;
      const upper = (stored / 1024 ** 3) * ((Date.now() - pushedAt) / 1000 / monthSeconds);
      assert.ok(gbMonths > 0 && gbMonths <= upper, `${gbMonths} GB-Mo, at most ${upper}`);
    } finally {
      ecr.destroy();
      s3.destroy();
    }
  });

  test('provisioned concurrency is billed while it is configured', async () => {
    await fx.create('kept', { MemorySize: 512 });
    const version = await fx.c.lambda.send(new PublishVersionCommand({ FunctionName: 'kept' }));
    await fx.c.lambda.send(
      new PutProvisionedConcurrencyConfigCommand({
        FunctionName: 'kept',
        Qualifier: version.Version,
        ProvisionedConcurrentExecutions: 1,
      }),
    );
    const now = Date.now();
    const provisioned = async () => {
      const out = await ce.send(
        new GetCostAndUsageCommand({
          TimePeriod: { Start: day(now), End: day(now + DAY_MS) },
          Granularity: 'DAILY',
          Metrics: ['UsageQuantity'],
          Filter: {
            Dimensions: { Key: 'USAGE_TYPE', Values: ['Lambda-Provisioned-Concurrency'] },
          },
        }),
      );
      return Number(out.ResultsByTime?.[0]?.Total?.UsageQuantity?.Amount ?? 0);
    };
    // GB-seconds accrue while it is configured (0.5 GB × the seconds so far).
    await eventually('provisioned concurrency metered', async () =>
      (await provisioned()) > 0 ? true : undefined,
    );
    await fx.c.lambda.send(
      new DeleteProvisionedConcurrencyConfigCommand({
        FunctionName: 'kept',
        Qualifier: version.Version,
      }),
    );
    // Once the configuration is gone (and the meter flushed), the figure stops growing.
    const settled = await eventually('provisioned concurrency ended', async () => {
      const a = await provisioned();
      const b = await provisioned();
      return a === b && a > 0 ? a : undefined;
    });
    const configuredFor = (Date.now() - now) / 1000 + 5;
    assert.ok(settled <= 0.5 * configuredFor, `${settled} GB-s in at most ${configuredFor} s`);
  });
});
