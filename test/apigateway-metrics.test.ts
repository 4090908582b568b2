/**
 * API Gateway's CloudWatch metrics and bill, EventBridge's events and Scheduler's
 * invocations on the bill, through real clients: requests to a REST API (MOCK), an HTTP
 * API (HTTP proxy to a local server) and a WebSocket API (MOCK routes) show up in
 * `AWS/ApiGateway` with AWS's names and dimensions (GetMetricStatistics, SDK v3's default
 * CBOR protocol; the AWS CLI v2 for one), and as AWS bills them in Cost Explorer and
 * `stratus cost`; S3's storage metrics, and request metrics once a bucket has a metrics
 * configuration, in `AWS/S3`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  APIGatewayClient,
  CreateDeploymentCommand,
  PutIntegrationCommand,
  PutIntegrationResponseCommand,
  PutMethodCommand,
  PutMethodResponseCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-api-gateway';
import {
  ApiGatewayV2Client,
  CreateApiCommand,
  CreateIntegrationCommand,
  CreateRouteCommand,
  CreateStageCommand,
} from '@aws-sdk/client-apigatewayv2';
import {
  CloudWatchClient,
  GetMetricStatisticsCommand,
  ListMetricsCommand,
  type Dimension,
  type Statistic,
} from '@aws-sdk/client-cloudwatch';
import { CostExplorerClient } from '@aws-sdk/client-cost-explorer';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import {
  CreateBucketCommand,
  DeleteBucketMetricsConfigurationCommand,
  DeleteObjectCommand,
  GetBucketMetricsConfigurationCommand,
  GetObjectCommand,
  ListBucketMetricsConfigurationsCommand,
  PutBucketMetricsConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import WebSocket from 'ws';
import type { CostReport } from '../src/billing/report.js';
import { clock, createRecorder, recordedAtLeast } from './helpers/events.js';
import { callApi, createApi, createResource } from './helpers/execute-api.js';
import { clients, createRole, destroy, eventually, type Clients } from './helpers/lambda.js';
import { runStratus } from './helpers/process.js';
import { awsCli } from './helpers/clients.js';
import { awayFromMidnightUtc, usageByType } from './helpers/cost.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';

const NS = 'AWS/ApiGateway';

describe('API Gateway metrics and the bill for API Gateway, EventBridge and Scheduler', () => {
  let server: TestServer;
  let c: Clients;
  let apigw: APIGatewayClient;
  let v2: ApiGatewayV2Client;
  let cw: CloudWatchClient;
  let ce: CostExplorerClient;
  let backend: Server;

  before(async () => {
    // `stratus cost` shows the month so far: the file must not straddle a month's end.
    await awayFromMidnightUtc(5 * 60_000);
    server = await startTestServer();
    const cfg = { ...clientConfig(server.endpoint), maxAttempts: 1 };
    c = clients(server.endpoint);
    apigw = new APIGatewayClient(cfg);
    v2 = new ApiGatewayV2Client(cfg);
    cw = new CloudWatchClient(cfg);
    ce = new CostExplorerClient(cfg);
    // The HTTP API's backend: answers 200 with a short body.
    backend = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('{"ok":true}'));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  });

  after(async () => {
    for (const client of [apigw, v2, cw, ce]) client.destroy();
    destroy(c);
    backend.close();
    await server.stop();
  });

  /** A statistic summed over the last minutes' datapoints (requests may straddle a minute). */
  async function statistic(
    name: string,
    dims: Record<string, string>,
    stat: Statistic,
  ): Promise<number | undefined> {
    const now = Date.now();
    const out = await cw.send(
      new GetMetricStatisticsCommand({
        Namespace: NS,
        MetricName: name,
        Dimensions: Object.entries(dims).map(([Name, Value]): Dimension => ({ Name, Value })),
        StartTime: new Date(now - 15 * 60_000),
        EndTime: new Date(now + 60_000),
        Period: 60,
        Statistics: [stat],
      }),
    );
    const points = out.Datapoints ?? [];
    if (points.length === 0) return undefined;
    return points.reduce((s, p) => s + Number(p[stat] ?? 0), 0);
  }

  /** Waits until a metric's statistic reaches `expected`. */
  const metric = (name: string, dims: Record<string, string>, stat: Statistic, expected: number) =>
    eventually(`${name} ${stat} ${JSON.stringify(dims)} = ${expected}`, async () => {
      const v = await statistic(name, dims, stat);
      return v === expected ? v : undefined;
    });

  const usageOf = (type: string, quantity: number) =>
    eventually(`${quantity} ${type} on the bill`, async () => {
      const u = (await usageByType(ce)).get(type);
      return u && Math.abs(u.quantity - quantity) < 1e-9 ? u : undefined;
    });

  test('a REST API: Count, 4XXError, 5XXError, Latency by ApiName and Stage, detailed by Method and Resource; requests billed', async () => {
    const { id: api, root } = await createApi(apigw, 'metered-rest');
    const items = await createResource(apigw, api, root, 'items');
    const p = { restApiId: api, resourceId: items, httpMethod: 'GET' };
    await apigw.send(new PutMethodCommand({ ...p, authorizationType: 'NONE' }));
    await apigw.send(
      new PutIntegrationCommand({
        ...p,
        type: 'MOCK',
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
      }),
    );
    await apigw.send(new PutMethodResponseCommand({ ...p, statusCode: '200' }));
    await apigw.send(
      new PutIntegrationResponseCommand({
        ...p,
        statusCode: '200',
        responseTemplates: { 'application/json': '{"ok": true}' },
      }),
    );
    await apigw.send(new CreateDeploymentCommand({ restApiId: api, stageName: 'prod' }));
    // Detailed metrics for every method (`*/*/metrics/enabled`).
    await apigw.send(
      new UpdateStageCommand({
        restApiId: api,
        stageName: 'prod',
        patchOperations: [{ op: 'replace', path: '/*/*/metrics/enabled', value: 'true' }],
      }),
    );
    for (let i = 0; i < 5; i++)
      assert.equal((await callApi(server.endpoint, api, 'prod', '/items')).status, 200);
    for (let i = 0; i < 2; i++)
      assert.equal((await callApi(server.endpoint, api, 'prod', '/nothing')).status, 403);

    const stage = { ApiName: 'metered-rest', Stage: 'prod' };
    await metric('Count', stage, 'Sum', 7);
    await metric('Count', { ApiName: 'metered-rest' }, 'Sum', 7);
    await metric('4XXError', stage, 'Sum', 2);
    assert.equal(await statistic('4XXError', stage, 'SampleCount'), 7);
    assert.equal(await statistic('5XXError', stage, 'Sum'), 0);
    assert.equal(await statistic('Latency', stage, 'SampleCount'), 7);
    await metric('Count', { ...stage, Method: 'GET', Resource: '/items' }, 'Sum', 5);
    // MOCK integrations report IntegrationLatency too on AWS; each answered request has one.
    assert.equal(await statistic('IntegrationLatency', stage, 'SampleCount'), 5);

    // The AWS CLI v2 (CloudWatch's query protocol) sees the same Count.
    const now = Date.now();
    const cli = await awsCli(server.endpoint, [
      'cloudwatch',
      'get-metric-statistics',
      '--namespace',
      NS,
      '--metric-name',
      'Count',
      '--dimensions',
      'Name=ApiName,Value=metered-rest',
      'Name=Stage,Value=prod',
      '--start-time',
      new Date(now - 15 * 60_000).toISOString(),
      '--end-time',
      new Date(now + 60_000).toISOString(),
      '--period',
      '60',
      '--statistics',
      'Sum',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const points = (JSON.parse(cli.stdout) as { Datapoints: { Sum: number }[] }).Datapoints;
    assert.equal(
      points.reduce((s, d) => s + d.Sum, 0),
      7,
    );

    // Seven requests at $3.50 per million (no free tier by default: it is for 12 months).
    const u = await usageOf('ApiGatewayRequest', 7);
    assert.ok(Math.abs(u.cost - 7 * 3.5e-6) < 1e-12, String(u.cost));
  });

  test('an HTTP API: Count, 4xx, DataProcessed by ApiId and Stage, Route when detailed; 512 KB metering', async () => {
    const port = (backend.address() as AddressInfo).port;
    const created = await v2.send(
      new CreateApiCommand({ Name: 'metered-http', ProtocolType: 'HTTP' }),
    );
    const apiId = created.ApiId as string;
    const integration = await v2.send(
      new CreateIntegrationCommand({
        ApiId: apiId,
        IntegrationType: 'HTTP_PROXY',
        IntegrationMethod: 'ANY',
        IntegrationUri: `http://127.0.0.1:${port}/`,
        PayloadFormatVersion: '1.0',
      }),
    );
    await v2.send(
      new CreateRouteCommand({
        ApiId: apiId,
        RouteKey: 'POST /items',
        Target: `integrations/${integration.IntegrationId}`,
      }),
    );
    await v2.send(
      new CreateStageCommand({
        ApiId: apiId,
        StageName: 'prod',
        AutoDeploy: true,
        DefaultRouteSettings: { DetailedMetricsEnabled: true },
      }),
    );
    const big = Buffer.alloc(600 * 1024, 'a');
    const sent = [Buffer.from('{}'), Buffer.from('{"a":1}'), big];
    for (const body of sent) {
      const r = await eventually('the auto-deployed stage answers', async () => {
        const res = await callApi(server.endpoint, apiId, 'prod', '/items', {
          method: 'POST',
          body,
        });
        return res.status === 200 ? res : undefined;
      });
      assert.equal(r.text, '{"ok":true}');
    }
    assert.equal((await callApi(server.endpoint, apiId, 'prod', '/nowhere')).status, 404);

    const stage = { ApiId: apiId, Stage: 'prod' };
    await metric('Count', stage, 'Sum', 4);
    await metric('Count', { ApiId: apiId }, 'Sum', 4);
    await metric('4xx', stage, 'Sum', 1);
    assert.equal(await statistic('5xx', stage, 'Sum'), 0);
    await metric('Count', { ...stage, Route: 'POST /items' }, 'Sum', 3);
    const bytes =
      sent.reduce((s, b) => s + b.length + '{"ok":true}'.length, 0) +
      '{"message":"Not Found"}'.length;
    await metric('DataProcessed', stage, 'Sum', bytes);

    // 1 + 1 + 2 (600 KB is two 512 KB increments) + 1 (the 404).
    const u = await usageOf('ApiGatewayHttpRequest', 5);
    assert.ok(Math.abs(u.cost - 5 * 1e-6) < 1e-12, String(u.cost));
  });

  test('a WebSocket API: ConnectCount, MessageCount, ClientError; messages and connection minutes billed', async () => {
    const created = await v2.send(
      new CreateApiCommand({
        Name: 'metered-ws',
        ProtocolType: 'WEBSOCKET',
        RouteSelectionExpression: '$request.body.action',
      }),
    );
    const apiId = created.ApiId as string;
    const mock = await v2.send(
      new CreateIntegrationCommand({ ApiId: apiId, IntegrationType: 'MOCK' }),
    );
    for (const key of ['$connect', 'hello']) {
      await v2.send(
        new CreateRouteCommand({
          ApiId: apiId,
          RouteKey: key,
          Target: `integrations/${mock.IntegrationId}`,
        }),
      );
    }
    await v2.send(new CreateStageCommand({ ApiId: apiId, StageName: 'live', AutoDeploy: true }));
    const url = `${server.endpoint.replace('http', 'ws')}/restapis/${apiId}/live/_user_request_/`;
    const ws = await eventually('the WebSocket stage accepts', async () => {
      const s = new WebSocket(url);
      return new Promise<WebSocket | undefined>((resolve) => {
        s.once('open', () => resolve(s));
        s.once('error', () => resolve(undefined));
      });
    });
    const forbidden = new Promise<string>((r) =>
      ws.once('message', (d: Buffer) => r(d.toString())),
    );
    ws.send(JSON.stringify({ action: 'hello' }));
    ws.send(JSON.stringify({ action: 'hello' }));
    // No route for it and no $default: API Gateway's own 4XX answer ("Forbidden").
    ws.send(JSON.stringify({ action: 'unknown' }));
    assert.match(await forbidden, /Forbidden/);
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.close();
    await closed;

    const stage = { ApiId: apiId, Stage: 'live' };
    await metric('ConnectCount', stage, 'Sum', 1);
    await metric('ConnectCount', { ApiId: apiId }, 'Sum', 1);
    // Three messages in, one answer out.
    await metric('MessageCount', stage, 'Sum', 4);
    await metric('ClientError', stage, 'Sum', 1);
    assert.equal(await statistic('ExecutionError', stage, 'Sum'), 0);

    const messages = await usageOf('ApiGatewayMessage', 4);
    assert.ok(Math.abs(messages.cost - 4 * 1e-6) < 1e-12, String(messages.cost));
    const minutes = await usageOf('ApiGatewayMinute', 1);
    assert.ok(Math.abs(minutes.cost - 0.25e-6) < 1e-12, String(minutes.cost));
  });

  test('EventBridge custom events per 64 KB chunk and Scheduler invocations on the bill; stratus cost shows them', async () => {
    const events = new EventBridgeClient({ ...clientConfig(server.endpoint), maxAttempts: 1 });
    const scheduler = new SchedulerClient({ ...clientConfig(server.endpoint), maxAttempts: 1 });
    try {
      const small = { Source: 'my.app', DetailType: 'tick', Detail: '{"n":1}' };
      // 100 KB of detail: two 64 KB chunks.
      const large = { ...small, Detail: JSON.stringify({ pad: 'x'.repeat(100 * 1024) }) };
      const out = await events.send(new PutEventsCommand({ Entries: [small, small, large] }));
      assert.equal(out.FailedEntryCount, 0);
      // A refused entry (AWS's own source) is not billed.
      const refused = await events.send(
        new PutEventsCommand({ Entries: [{ ...small, Source: 'aws.ec2' }] }),
      );
      assert.equal(refused.FailedEntryCount, 1);
      const u = await usageOf('Event-64K-Chunks', 4);
      assert.ok(Math.abs(u.cost - 4 * 1e-6) < 1e-12, String(u.cost));

      // A one-time schedule fired by moving the scheduling clock: one invocation, free
      // under Scheduler's always-free 14 million a month.
      const role = await createRole(c.iam, 'metered-scheduler');
      const fn = await createRecorder(c, role, 'metered-once');
      const now = Date.parse((await clock(server.endpoint)).now);
      await scheduler.send(
        new CreateScheduleCommand({
          Name: 'metered-once',
          ScheduleExpression: `at(${new Date(now + 3_600_000).toISOString().slice(0, 19)})`,
          FlexibleTimeWindow: { Mode: 'OFF' },
          Target: { Arn: fn, RoleArn: role, Input: '{}' },
        }),
      );
      assert.equal((await clock(server.endpoint, { advanceSeconds: 2 * 3600 })).fired, 1);
      await recordedAtLeast(c, 'metered-once', 1);
      const inv = await usageOf('Scheduler-Invocation', 1);
      assert.equal(inv.cost, 0);

      // `stratus cost --json`: API Gateway and EventBridge with the same figures.
      const r = await runStratus(['cost', '--json'], { STRATUS_ENDPOINT: server.endpoint });
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as CostReport;
      const eb = report.services.find((s) => s.code === 'AWSEvents');
      assert.equal(eb?.name, 'Amazon EventBridge');
      assert.equal(eb?.usage.find((x) => x.usageType === 'Event-64K-Chunks')?.quantity, 4);
      assert.equal(eb?.usage.find((x) => x.usageType === 'Scheduler-Invocation')?.free, 1);
      const gw = report.services.find((s) => s.code === 'AmazonApiGateway');
      assert.equal(gw?.name, 'Amazon API Gateway');
      assert.equal(gw?.usage.find((x) => x.usageType === 'ApiGatewayRequest')?.quantity, 7);
      assert.ok(gw?.resources.some((x) => x.resource.includes('/restapis/')));
    } finally {
      events.destroy();
      scheduler.destroy();
    }
  });

  test("S3's storage metrics: BucketSizeBytes and NumberOfObjects by BucketName and StorageType", async () => {
    const s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    try {
      // A write refused for a bucket that does not exist publishes no storage metrics for it
      // (it used to: a series per bucket name any client tried, kept for good).
      await assert.rejects(
        s3.send(new DeleteObjectCommand({ Bucket: 'never-created-bucket', Key: 'k' })),
        { name: 'NoSuchBucket' },
      );
      await s3.send(new CreateBucketCommand({ Bucket: 'metered-bucket' }));
      await s3.send(
        new PutObjectCommand({ Bucket: 'metered-bucket', Key: 'a', Body: 'x'.repeat(10) }),
      );
      await s3.send(
        new PutObjectCommand({ Bucket: 'metered-bucket', Key: 'b', Body: 'y'.repeat(20) }),
      );
      const latest = (name: string, storageType: string) =>
        eventually(`${name} of metered-bucket`, async () => {
          const now = Date.now();
          const out = await cw.send(
            new GetMetricStatisticsCommand({
              Namespace: 'AWS/S3',
              MetricName: name,
              Dimensions: [
                { Name: 'BucketName', Value: 'metered-bucket' },
                { Name: 'StorageType', Value: storageType },
              ],
              StartTime: new Date(now - 1_800_000),
              EndTime: new Date(now + 1_800_000),
              Period: 3600,
              Statistics: ['Maximum'],
            }),
          );
          // The latest hour's (the window holds two hours: the puts may straddle one).
          const points = [...(out.Datapoints ?? [])].sort(
            (x, y) => (x.Timestamp?.getTime() ?? 0) - (y.Timestamp?.getTime() ?? 0),
          );
          const max = points.at(-1)?.Maximum;
          return max === (name === 'BucketSizeBytes' ? 30 : 2) ? max : undefined;
        });
      assert.equal(await latest('BucketSizeBytes', 'StandardStorage'), 30);
      assert.equal(await latest('NumberOfObjects', 'AllStorageTypes'), 2);
      // The refused delete came first, so its recount would have been published by now.
      const phantom = await cw.send(
        new ListMetricsCommand({
          Namespace: 'AWS/S3',
          Dimensions: [{ Name: 'BucketName', Value: 'never-created-bucket' }],
        }),
      );
      assert.deepEqual(phantom.Metrics ?? [], []);
    } finally {
      s3.destroy();
    }
  });

  test('S3 request metrics by BucketName and FilterId once a metrics configuration exists', async () => {
    const s3 = new S3Client({ ...clientConfig(server.endpoint), forcePathStyle: true });
    try {
      const Bucket = 'requests-bucket';
      await s3.send(new CreateBucketCommand({ Bucket }));
      // Before any configuration: not counted.
      await s3.send(new PutObjectCommand({ Bucket, Key: 'docs/early', Body: 'x' }));
      await s3.send(
        new PutBucketMetricsConfigurationCommand({
          Bucket,
          Id: 'docs',
          MetricsConfiguration: { Id: 'docs', Filter: { Prefix: 'docs/' } },
        }),
      );
      const got = await s3.send(new GetBucketMetricsConfigurationCommand({ Bucket, Id: 'docs' }));
      assert.deepEqual(got.MetricsConfiguration, { Id: 'docs', Filter: { Prefix: 'docs/' } });
      const listed = await s3.send(new ListBucketMetricsConfigurationsCommand({ Bucket }));
      assert.deepEqual(
        listed.MetricsConfigurationList?.map((c) => c.Id),
        ['docs'],
      );
      await assert.rejects(
        s3.send(new GetBucketMetricsConfigurationCommand({ Bucket, Id: 'nope' })),
        (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(err.name, 'NoSuchConfiguration');
          assert.equal(err.$metadata?.httpStatusCode, 404);
          return true;
        },
      );
      await s3.send(new PutObjectCommand({ Bucket, Key: 'docs/a', Body: 'hello' }));
      await s3.send(new PutObjectCommand({ Bucket, Key: 'other/b', Body: 'not counted' }));
      const a = await s3.send(new GetObjectCommand({ Bucket, Key: 'docs/a' }));
      assert.equal(await a.Body?.transformToString(), 'hello');
      await assert.rejects(s3.send(new GetObjectCommand({ Bucket, Key: 'docs/missing' })));
      const dims = { BucketName: Bucket, FilterId: 'docs' };
      const s3Stat = async (name: string) => {
        const now = Date.now();
        const out = await cw.send(
          new GetMetricStatisticsCommand({
            Namespace: 'AWS/S3',
            MetricName: name,
            Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })),
            StartTime: new Date(now - 1_800_000),
            EndTime: new Date(now + 1_800_000),
            Period: 3600,
            Statistics: ['Sum'],
          }),
        );
        // Summed over the window's hours: the requests may straddle one.
        const points = out.Datapoints ?? [];
        return points.length ? points.reduce((sum, p) => sum + (p.Sum ?? 0), 0) : undefined;
      };
      await eventually('AllRequests = 3', async () =>
        (await s3Stat('AllRequests')) === 3 ? true : undefined,
      );
      assert.equal(await s3Stat('GetRequests'), 2);
      assert.equal(await s3Stat('PutRequests'), 1);
      assert.equal(await s3Stat('4xxErrors'), 1);
      assert.equal(await s3Stat('5xxErrors'), 0);
      assert.equal(await s3Stat('BytesDownloaded'), 5);

      await s3.send(new DeleteBucketMetricsConfigurationCommand({ Bucket, Id: 'docs' }));
      const none = await s3.send(new ListBucketMetricsConfigurationsCommand({ Bucket }));
      assert.equal(none.MetricsConfigurationList, undefined);
    } finally {
      s3.destroy();
    }
  });
});
