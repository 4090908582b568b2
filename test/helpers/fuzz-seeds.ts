/**
 * The fuzz harness's seeds (test/helpers/fuzz.ts): one valid request per operation worth
 * fuzzing, grouped by protocol and data plane, and the resources they address, created
 * through the real clients.
 */
import {
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  GetFunctionCommand,
  PutFunctionConcurrencyCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import {
  CreateRepositoryCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { CreateLogGroupCommand, CreateLogStreamCommand } from '@aws-sdk/client-cloudwatch-logs';
import { NODE_ECHO, clients, createRole, destroy, nodeZip } from './lambda.js';
import { cbor, tag } from '@smithy/core/cbor';
import { clientConfig } from './server.js';

// ---------------------------------------------------------------------------------------
// Seeds: one valid request per operation worth fuzzing, grouped by protocol / data plane.

export type Group =
  | 'json1.0'
  | 'json1.1'
  | 'rest-json'
  | 'query'
  | 'ec2'
  | 'rest-xml'
  | 'rpc-v2-cbor'
  | 'registry'
  | 'lambda-url'
  | 'lambda-invoke'
  | 'admin';

export const GROUPS: readonly Group[] = [
  'json1.0',
  'json1.1',
  'rest-json',
  'query',
  'ec2',
  'rest-xml',
  'rpc-v2-cbor',
  'registry',
  'lambda-url',
  'lambda-invoke',
  'admin',
];

export interface FuzzRequest {
  method: string;
  path: string;
  /** The raw query string, without '?'. */
  query: string;
  /** In order; names as sent; values as latin1 strings (one char per byte). */
  headers: [string, string][];
  body: Buffer;
  /** SigV4 signing name, when the request may be signed. */
  service?: string;
}

export interface Seed {
  group: Group;
  name: string;
  request: FuzzRequest;
}

/** What the targets need (created by prepareTargets). */
export interface FuzzTargets {
  /** A Node function (the echo handler) with reserved concurrency and a function URL. */
  functionName: string;
  urlId: string;
  repository: string;
  logGroup: string;
  /** `Basic …` for the registry. */
  registryAuth: string;
  /** A code download path for the function (GetFunction's Code.Location). */
  codePath: string;
}

const JSON10 = 'application/x-amz-json-1.0';
const JSON11 = 'application/x-amz-json-1.1';
const FORM = 'application/x-www-form-urlencoded; charset=utf-8';

function req(
  method: string,
  path: string,
  query: string,
  headers: Record<string, string>,
  body: string | Buffer,
  service?: string,
): FuzzRequest {
  return {
    method,
    path,
    query,
    headers: Object.entries({ host: '127.0.0.1', ...headers }),
    body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
    service,
  };
}

const jsonCall = (service: string, target: string, type: string, body: unknown): FuzzRequest =>
  req(
    'POST',
    '/',
    '',
    { 'content-type': type, 'x-amz-target': target },
    JSON.stringify(body),
    service,
  );

/** Smithy RPC v2 CBOR: `POST /service/<Service>/operation/<Operation>`, a CBOR body. */
const cborCall = (service: string, target: string, body: unknown): FuzzRequest => {
  const [svc, op] = target.split('.');
  return req(
    'POST',
    `/service/${svc}/operation/${op}`,
    '',
    { 'content-type': 'application/cbor', 'smithy-protocol': 'rpc-v2-cbor' },
    Buffer.from(cbor.serialize(body)),
    service,
  );
};

const queryCall = (service: string, params: Record<string, string>): FuzzRequest =>
  req('POST', '/', '', { 'content-type': FORM }, new URLSearchParams(params).toString(), service);

export function seeds(t: FuzzTargets): Seed[] {
  const ecr = (op: string, body: unknown) =>
    jsonCall('ecr', `AmazonEC2ContainerRegistry_V20150921.${op}`, JSON11, body);
  const logs = (op: string, body: unknown) => jsonCall('logs', `Logs_20140328.${op}`, JSON11, body);
  const lambda = (method: string, path: string, query: string, body: unknown) =>
    req(
      method,
      path,
      query,
      body === undefined ? {} : { 'content-type': 'application/json' },
      body === undefined ? '' : JSON.stringify(body),
      'lambda',
    );
  const digest = `sha256:${'a'.repeat(64)}`;
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: 2 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: 32 }],
  };
  const reg = (method: string, path: string, headers: Record<string, string> = {}, body = '') =>
    req(method, path, '', { authorization: t.registryAuth, ...headers }, body);
  const list: Seed[] = [
    {
      group: 'rpc-v2-cbor',
      name: 'cloudwatch.PutMetricData',
      request: cborCall('monitoring', 'GraniteServiceVersion20100801.PutMetricData', {
        Namespace: 'fuzz',
        MetricData: [
          {
            MetricName: 'm',
            Dimensions: [{ Name: 'd', Value: 'v' }],
            Values: [1.5, 2],
            Counts: [1, 3],
            Timestamp: tag({ tag: 1, value: Date.now() / 1000 }),
            Unit: 'Count',
          },
        ],
      }),
    },
    {
      group: 'rpc-v2-cbor',
      name: 'cloudwatch.GetMetricData',
      request: cborCall('monitoring', 'GraniteServiceVersion20100801.GetMetricData', {
        StartTime: tag({ tag: 1, value: Date.now() / 1000 - 3600 }),
        EndTime: tag({ tag: 1, value: Date.now() / 1000 }),
        MetricDataQueries: [
          {
            Id: 'm1',
            MetricStat: {
              Metric: {
                Namespace: 'fuzz',
                MetricName: 'm',
                Dimensions: [{ Name: 'd', Value: 'v' }],
              },
              Period: 60,
              Stat: 'p90',
            },
          },
          { Id: 'e1', Expression: 'RATE(m1) * 2 + SUM(METRICS())' },
        ],
      }),
    },
    {
      group: 'rpc-v2-cbor',
      name: 'cloudwatch.ListMetrics',
      request: cborCall('monitoring', 'GraniteServiceVersion20100801.ListMetrics', {
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: t.functionName }],
      }),
    },
    {
      group: 'json1.0',
      name: 'cloudwatch.ListMetrics',
      request: jsonCall('monitoring', 'GraniteServiceVersion20100801.ListMetrics', JSON10, {
        Namespace: 'AWS/Lambda',
        Dimensions: [{ Name: 'FunctionName', Value: t.functionName }],
      }),
    },
    {
      group: 'json1.0',
      name: 'cloudwatch.PutMetricData',
      request: jsonCall('monitoring', 'GraniteServiceVersion20100801.PutMetricData', JSON10, {
        Namespace: 'fuzz',
        MetricData: [{ MetricName: 'm', Value: 1.5, Timestamp: 1700000000, Unit: 'Count' }],
      }),
    },
    {
      group: 'json1.1',
      name: 'logs.PutLogEvents',
      request: logs('PutLogEvents', {
        logGroupName: t.logGroup,
        logStreamName: 'fuzz',
        logEvents: [{ timestamp: 1700000000000, message: 'hello' }],
      }),
    },
    {
      group: 'json1.1',
      name: 'logs.FilterLogEvents',
      request: logs('FilterLogEvents', {
        logGroupName: t.logGroup,
        filterPattern: '{ $.level = "error" }',
        limit: 10,
        startTime: 0,
      }),
    },
    {
      group: 'json1.1',
      name: 'logs.DescribeLogGroups',
      request: logs('DescribeLogGroups', { logGroupNamePrefix: 'f', limit: 5 }),
    },
    {
      group: 'json1.1',
      name: 'ecr.BatchGetImage',
      request: ecr('BatchGetImage', {
        repositoryName: t.repository,
        imageIds: [{ imageTag: 'latest' }, { imageDigest: digest }],
        acceptedMediaTypes: ['application/vnd.oci.image.manifest.v1+json'],
      }),
    },
    {
      group: 'json1.1',
      name: 'ecr.BatchDeleteImage',
      request: ecr('BatchDeleteImage', {
        repositoryName: t.repository,
        imageIds: [{ imageTag: 'nothing-here' }],
      }),
    },
    {
      group: 'json1.1',
      name: 'ecr.DescribeImages',
      request: ecr('DescribeImages', {
        repositoryName: t.repository,
        filter: { tagStatus: 'TAGGED' },
        maxResults: 10,
      }),
    },
    {
      group: 'json1.1',
      name: 'ecr.BatchCheckLayerAvailability',
      request: ecr('BatchCheckLayerAvailability', {
        repositoryName: t.repository,
        layerDigests: [digest],
      }),
    },
    {
      group: 'json1.1',
      name: 'ecr.PutImage',
      request: ecr('PutImage', {
        repositoryName: t.repository,
        imageManifest: JSON.stringify(manifest),
        imageTag: 'fuzz',
      }),
    },
    {
      group: 'json1.1',
      name: 'ecr.PutLifecyclePolicy',
      request: ecr('GetLifecyclePolicyPreview', {
        repositoryName: t.repository,
        filter: { tagStatus: 'ANY' },
      }),
    },
    {
      group: 'json1.1',
      name: 'ecs.RunTask',
      request: jsonCall('ecs', 'AmazonEC2ContainerServiceV20141113.RunTask', JSON11, {
        taskDefinition: 'td:1',
        count: 1,
        overrides: {
          containerOverrides: [{ name: 'c', environment: [{ name: 'A', value: 'b' }] }],
        },
      }),
    },
    {
      group: 'rest-json',
      name: 'lambda.GetFunction',
      request: lambda(
        'GET',
        `/2015-03-31/functions/${t.functionName}`,
        'Qualifier=%24LATEST',
        undefined,
      ),
    },
    {
      group: 'rest-json',
      name: 'lambda.ListFunctions',
      request: lambda('GET', '/2015-03-31/functions/', 'MaxItems=10&Marker=abc', undefined),
    },
    {
      group: 'rest-json',
      name: 'lambda.UpdateFunctionConfiguration',
      request: lambda('PUT', `/2015-03-31/functions/${t.functionName}/configuration`, '', {
        Description: 'fuzz',
        Timeout: 3,
        Environment: { Variables: { A: 'b' } },
        RevisionId: '00000000-0000-0000-0000-000000000000',
      }),
    },
    {
      group: 'rest-json',
      name: 'lambda.TagResource',
      request: lambda(
        'POST',
        `/2017-03-31/tags/${encodeURIComponent(`arn:aws:lambda:us-east-1:000000000000:function:${t.functionName}`)}`,
        '',
        { Tags: { a: 'b' } },
      ),
    },
    {
      group: 'rest-json',
      name: 'lambda.PutFunctionEventInvokeConfig',
      request: lambda('PUT', `/2019-09-25/functions/${t.functionName}/event-invoke-config`, '', {
        MaximumRetryAttempts: 1,
        MaximumEventAgeInSeconds: 60,
      }),
    },
    {
      group: 'rest-json',
      name: 'apigateway.CreateRestApi',
      request: req(
        'POST',
        '/restapis',
        '',
        { 'content-type': 'application/json' },
        JSON.stringify({ name: 'api', endpointConfiguration: { types: ['REGIONAL'] } }),
        'apigateway',
      ),
    },
    {
      group: 'query',
      name: 'sts.GetCallerIdentity',
      request: queryCall('sts', { Action: 'GetCallerIdentity', Version: '2011-06-15' }),
    },
    {
      group: 'query',
      name: 'sts.AssumeRole',
      request: queryCall('sts', {
        Action: 'AssumeRole',
        Version: '2011-06-15',
        RoleArn: 'arn:aws:iam::000000000000:role/fuzz-none',
        RoleSessionName: 's',
        'Tags.member.1.Key': 'k',
        'Tags.member.1.Value': 'v',
        DurationSeconds: '900',
      }),
    },
    {
      group: 'query',
      name: 'iam.ListRoles',
      request: queryCall('iam', { Action: 'ListRoles', Version: '2010-05-08', MaxItems: '5' }),
    },
    {
      group: 'query',
      name: 'iam.GetRole',
      request: queryCall('iam', {
        Action: 'GetRole',
        Version: '2010-05-08',
        RoleName: 'fuzz-role',
      }),
    },
    {
      group: 'query',
      name: 'iam.SimulatePrincipalPolicy',
      request: queryCall('iam', {
        Action: 'SimulatePrincipalPolicy',
        Version: '2010-05-08',
        PolicySourceArn: 'arn:aws:iam::000000000000:role/fuzz-role',
        'ActionNames.member.1': 's3:GetObject',
        'ContextEntries.member.1.ContextKeyName': 'aws:username',
        'ContextEntries.member.1.ContextKeyValues.member.1': 'x',
      }),
    },
    {
      group: 'query',
      name: 'elbv2.DescribeLoadBalancers',
      request: queryCall('elasticloadbalancing', {
        Action: 'DescribeLoadBalancers',
        Version: '2015-12-01',
        'Names.member.1': 'lb',
      }),
    },
    {
      group: 'ec2',
      name: 'ec2.DescribeInstances',
      request: queryCall('ec2', {
        Action: 'DescribeInstances',
        Version: '2016-11-15',
        'Filter.1.Name': 'instance-state-name',
        'Filter.1.Value.1': 'running',
        MaxResults: '5',
      }),
    },
    {
      group: 'rest-xml',
      name: 's3.PutBucketTagging',
      request: req(
        'PUT',
        '/fuzz-bucket',
        'tagging=',
        { 'content-type': 'application/xml' },
        '<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>k</Key>' +
          '<Value>v</Value></Tag></TagSet></Tagging>',
        's3',
      ),
    },
    {
      group: 'rest-xml',
      name: 's3.ListObjectsV2',
      request: req('GET', '/fuzz-bucket', 'list-type=2&prefix=a%2Fb&max-keys=5', {}, '', 's3'),
    },
    {
      group: 'rest-xml',
      name: 's3.PutObject',
      request: req(
        'PUT',
        '/fuzz-bucket/a/b.txt',
        '',
        { 'content-type': 'text/plain', 'x-amz-meta-k': 'v', 'x-amz-tagging': 'a=b' },
        'hello',
        's3',
      ),
    },
    { group: 'registry', name: 'registry.base', request: reg('GET', '/v2/') },
    {
      group: 'registry',
      name: 'registry.manifest',
      request: reg('GET', `/v2/${t.repository}/manifests/latest`, {
        accept: 'application/vnd.oci.image.manifest.v1+json',
      }),
    },
    {
      group: 'registry',
      name: 'registry.putManifest',
      request: reg(
        'PUT',
        `/v2/${t.repository}/manifests/fuzz`,
        { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
        JSON.stringify(manifest),
      ),
    },
    {
      group: 'registry',
      name: 'registry.blob',
      request: reg('HEAD', `/v2/${t.repository}/blobs/${digest}`),
    },
    {
      group: 'registry',
      name: 'registry.patchUpload',
      request: reg(
        'PATCH',
        `/v2/${t.repository}/blobs/uploads/00000000-0000-0000-0000-000000000000`,
        { 'content-type': 'application/octet-stream', 'content-range': '0-4' },
        'hello',
      ),
    },
    {
      group: 'registry',
      name: 'registry.tags',
      request: reg('GET', `/v2/${t.repository}/tags/list`),
    },
    {
      group: 'lambda-url',
      name: 'url.post',
      request: req(
        'POST',
        `/_stratus/lambda-url/${t.urlId}/some/path`,
        'a=1&b=%20x',
        { 'content-type': 'application/json', cookie: 'c=1; d=2', origin: 'http://x' },
        JSON.stringify({ hello: 'world' }),
      ),
    },
    {
      group: 'lambda-url',
      name: 'url.get',
      request: req('GET', `/_stratus/lambda-url/${t.urlId}/`, '', {}, ''),
    },
    {
      group: 'lambda-invoke',
      name: 'lambda.Invoke',
      request: req(
        'POST',
        `/2015-03-31/functions/${t.functionName}/invocations`,
        '',
        {
          'content-type': 'application/json',
          'x-amz-invocation-type': 'RequestResponse',
          'x-amz-log-type': 'Tail',
          'x-amz-client-context': Buffer.from('{"custom":{"a":"b"}}').toString('base64'),
        },
        JSON.stringify({ fuzz: true }),
        'lambda',
      ),
    },
    {
      group: 'lambda-invoke',
      name: 'lambda.InvokeWithResponseStream',
      request: req(
        'POST',
        `/2021-11-15/functions/${t.functionName}/response-streaming-invocations`,
        '',
        { 'content-type': 'application/json', 'x-amz-log-type': 'Tail' },
        JSON.stringify({ fuzz: true }),
        'lambda',
      ),
    },
    {
      group: 'lambda-invoke',
      name: 'lambda.InvokeAsync',
      request: req(
        'POST',
        `/2014-11-13/functions/${t.functionName}/invoke-async/`,
        '',
        { 'content-type': 'application/json' },
        JSON.stringify({ fuzz: true }),
        'lambda',
      ),
    },
    { group: 'admin', name: 'admin.health', request: req('GET', '/_stratus/health', '', {}, '') },
    {
      group: 'admin',
      name: 'admin.code',
      request: req('GET', t.codePath.split('?')[0], t.codePath.split('?')[1] ?? '', {}, ''),
    },
  ];
  return list;
}

// ---------------------------------------------------------------------------------------
// Targets: the resources the seeds name, created through the real clients.

/** Creates the function (with a URL), repository and log group the seeds address. */
export async function prepareTargets(endpoint: string): Promise<FuzzTargets> {
  const c = clients(endpoint);
  const ecr = new ECRClient(clientConfig(endpoint));
  try {
    const role = await createRole(c.iam, 'fuzz-role');
    const functionName = 'fuzz-fn';
    await c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: functionName,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Code: { ZipFile: nodeZip(NODE_ECHO) },
      }),
    );
    await waitUntilFunctionActiveV2(
      { client: c.lambda, maxWaitTime: 60 },
      { FunctionName: functionName },
    );
    // Two environments at most: the rest of the URL and invoke fuzz is throttled (429).
    await c.lambda.send(
      new PutFunctionConcurrencyCommand({
        FunctionName: functionName,
        ReservedConcurrentExecutions: 2,
      }),
    );
    const url = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: functionName, AuthType: 'NONE' }),
    );
    const urlId = /\/_stratus\/lambda-url\/([^/]+)\//.exec(url.FunctionUrl ?? '')?.[1];
    if (!urlId) throw new Error(`unexpected function URL ${String(url.FunctionUrl)}`);
    const fn = await c.lambda.send(new GetFunctionCommand({ FunctionName: functionName }));
    const location = new URL(fn.Code?.Location ?? `${endpoint}/_stratus/health`);
    const repository = 'fuzz-repo';
    await ecr.send(new CreateRepositoryCommand({ repositoryName: repository }));
    const token = await ecr.send(new GetAuthorizationTokenCommand({}));
    const logGroup = 'fuzz-group';
    await c.logs.send(new CreateLogGroupCommand({ logGroupName: logGroup }));
    await c.logs.send(
      new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: 'fuzz' }),
    );
    return {
      functionName,
      urlId,
      repository,
      logGroup,
      registryAuth: `Basic ${token.authorizationData?.[0]?.authorizationToken ?? ''}`,
      codePath: location.pathname + location.search,
    };
  } finally {
    destroy(c);
    ecr.destroy();
  }
}
