/**
 * The fuzz harness shared by test/fuzz.test.ts (short, for CI) and bench/fuzz.ts (long):
 * malformed requests for every protocol and data plane Stratus serves, sent over raw
 * sockets (node:net) so that nothing an HTTP client would refuse to send is left out.
 *
 * Each request is a mutation of a valid seed request: structural mutations (body, path,
 * query, headers) are applied before signing, so a request is validly re-signed (SigV4),
 * unsigned, or signed and then corrupted; wire-level mutations (wrong Content-Length,
 * broken chunked framing, truncations, bit flips, header floods, non-Latin-1 header bytes,
 * 64 KB URLs) are applied to the bytes afterwards. Request `i` of seed `s` is always the same
 * bytes (a PRNG seeded from both), so a failure is reproduced from the two numbers alone.
 *
 * What counts as a failure: a 500 (or another 5xx AWS would not answer: 501 for an
 * unimplemented operation is AWS's own), no answer and no close within 10 s (a hang), or a
 * server that is gone.
 */
import { createHash, createHmac } from 'node:crypto';
import { connect } from 'node:net';
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
import { clientConfig } from './server.js';

// ---------------------------------------------------------------------------------------
// A seeded PRNG (mulberry32): the same seed gives the same requests on every machine.

export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The PRNG for request `index` of a run seeded with `seed`. */
export function requestRng(seed: number, index: number): Rng {
  return mulberry32(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
}

/** encodeURIComponent that takes lone surrogates too (as U+FFFD, as a client's UTF-8 would). */
function encode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.!~*'()]/.test(c)
      ? c
      : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, list: readonly T[]): T => list[int(rng, list.length)];

// ---------------------------------------------------------------------------------------
// Seeds: one valid request per operation worth fuzzing, grouped by protocol / data plane.

export type Group =
  | 'json1.0'
  | 'json1.1'
  | 'rest-json'
  | 'query'
  | 'ec2'
  | 'rest-xml'
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
// Structural mutations (before signing)

const HUGE_NUMBERS = [
  '1e400',
  '-1e400',
  '99999999999999999999999999999',
  '-0',
  '1.7976931348623157e309',
  '0.0000000000000000000000001',
  'NaN',
  '9007199254740993',
];
const INVALID_UTF8 = [
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xe0, 0xa4]),
];
const WEIRD_STRINGS = [
  '',
  '\u0000',
  '%',
  '%c0',
  '%%',
  '../',
  '..%2f..%2f',
  '\ud800',
  '🙂',
  'Zoë',
  '\r\n',
  '"',
  '\\',
  '<x>',
  '&amp;',
  '${x}',
  'null',
  'true',
  '[]',
  '{}',
];

/** A JSON value of a type a member would not expect. */
function wrongType(rng: Rng): unknown {
  switch (int(rng, 9)) {
    case 0:
      return null;
    case 1:
      return [null];
    case 2:
      return { x: [null, { y: null }] };
    case 3:
      return pick(rng, WEIRD_STRINGS);
    case 4:
      return int(rng, 2) === 0 ? true : false;
    case 5:
      return -1;
    case 6:
      return [1, 'a', {}, []];
    case 7:
      return 'x'.repeat(1 + int(rng, 5000));
    default:
      return 1.5;
  }
}

/** Replaces, deletes or adds members at random depths of a parsed JSON document. */
function mutateJson(v: unknown, rng: Rng, depth = 0): unknown {
  if (Array.isArray(v)) {
    if (v.length === 0 || rng() < 0.2) return [...v, wrongType(rng)];
    const i = int(rng, v.length);
    const copy = [...v];
    copy[i] = rng() < 0.5 ? wrongType(rng) : mutateJson(v[i], rng, depth + 1);
    return copy;
  }
  if (typeof v === 'object' && v !== null) {
    const obj = { ...(v as Record<string, unknown>) };
    const keys = Object.keys(obj);
    const r = rng();
    if (keys.length === 0 || r < 0.15)
      obj[pick(rng, ['__proto__', 'constructor', 'toString', 'bogus', ''])] = wrongType(rng);
    else if (r < 0.3) delete obj[pick(rng, keys)];
    else {
      const k = pick(rng, keys);
      obj[k] = rng() < 0.5 || depth > 6 ? wrongType(rng) : mutateJson(obj[k], rng, depth + 1);
    }
    return obj;
  }
  return wrongType(rng);
}

function nested(n: number, open: string, close: string, inner = '1'): string {
  return open.repeat(n) + inner + close.repeat(n);
}

function mutateBody(r: FuzzRequest, rng: Rng): void {
  const body = r.body;
  const text = body.toString('utf8');
  const isJson = text.startsWith('{') || text.startsWith('[');
  const isXml = text.startsWith('<');
  const isForm = !isJson && !isXml && text.includes('=');
  switch (int(rng, 14)) {
    case 0: // truncation
      r.body = body.subarray(0, int(rng, body.length + 1));
      return;
    case 1: {
      // bit flips
      const b = Buffer.from(body);
      for (let n = 1 + int(rng, 4); n > 0 && b.length > 0; n--)
        b[int(rng, b.length)] ^= 1 << int(rng, 8);
      r.body = b;
      return;
    }
    case 2: {
      // invalid UTF-8 or NUL bytes inserted
      const at = int(rng, body.length + 1);
      const bad = rng() < 0.5 ? pick(rng, INVALID_UTF8) : Buffer.from([0]);
      r.body = Buffer.concat([body.subarray(0, at), bad, body.subarray(at)]);
      return;
    }
    case 3: // 10,000-level nesting
      if (isXml) r.body = Buffer.from(nested(10_000, '<a>', '</a>'));
      else if (isForm) r.body = Buffer.from(`${text}&${'a.1.'.repeat(2000)}b=1`);
      else
        r.body = Buffer.from(
          `{"a":${nested(10_000, rng() < 0.5 ? '[' : '{"a":', rng() < 0.5 ? ']' : '}')}}`.replace(
            /\{"a":1\}/,
            '1',
          ),
        );
      return;
    case 4: // a megabyte string
      if (isJson) {
        try {
          const doc = JSON.parse(text) as Record<string, unknown>;
          const keys = Object.keys(doc);
          doc[keys.length ? pick(rng, keys) : 'x'] = 'x'.repeat(1 << 20);
          r.body = Buffer.from(JSON.stringify(doc));
          return;
        } catch {
          // fall through
        }
      }
      r.body = Buffer.concat([body, Buffer.alloc(1 << 20, isForm ? 'a' : 'x')]);
      return;
    case 5: // huge numbers
      r.body = Buffer.from(text.replace(/-?\d+(\.\d+)?/g, () => pick(rng, HUGE_NUMBERS)));
      return;
    case 6: // wrong types, deleted and unknown members
      if (isJson) {
        try {
          r.body = Buffer.from(JSON.stringify(mutateJson(JSON.parse(text), rng)));
          return;
        } catch {
          // fall through
        }
      }
      r.body = Buffer.from(JSON.stringify(wrongType(rng)));
      return;
    case 7: // form: 10,000 parameters, broken escapes, duplicated keys
      if (isForm || rng() < 0.3) {
        const extra = [];
        const n = rng() < 0.3 ? 10_000 : 1 + int(rng, 20);
        for (let i = 0; i < n; i++)
          extra.push(
            `${pick(rng, ['a', 'Action', 'Version', 'RoleName', 'x.1', 'Tags.member.99999999999.Key', '%zz'])}=${encode(pick(rng, WEIRD_STRINGS))}${rng() < 0.1 ? '%' : ''}`,
          );
        r.body = Buffer.from(`${text}&${extra.join('&')}`);
        return;
      }
      r.body = Buffer.alloc(0);
      return;
    case 8: // XML: entities, unclosed tags, wrong root, attributes
      r.body = Buffer.from(
        pick(rng, [
          '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;&a;</x>',
          '<Tagging><TagSet><Tag><Key>k</Key>',
          '<Wrong xmlns="x"><a b="c"/></Wrong>',
          `<Tagging>${'<TagSet>'.repeat(50)}</Tagging>`,
          '<Tagging><TagSet><Tag><Key>&#0;</Key><Value>&#xD800;</Value></Tag></TagSet></Tagging>',
          '',
        ]),
      );
      return;
    case 9: // random bytes
      r.body = Buffer.from(Array.from({ length: int(rng, 300) }, () => int(rng, 256)));
      return;
    case 10: // empty
      r.body = Buffer.alloc(0);
      return;
    case 11: // a JSON document of another top-level type
      r.body = Buffer.from(
        pick(rng, [
          '[]',
          'null',
          '"x"',
          '1',
          'true',
          '{"a":1}{"b":2}',
          '{"a":1,}',
          '{"a"',
          '\ufeff{}',
        ]),
      );
      return;
    case 12: // duplicate keys
      r.body = Buffer.from(
        text.replace(/^\{/, '{"repositoryName":1,"logGroupName":[],"FunctionName":{},'),
      );
      return;
    default: // a string member holding escapes
      r.body = Buffer.from(
        text.replace(/"[^"]*"(?=\s*[,}])/, JSON.stringify(pick(rng, WEIRD_STRINGS))),
      );
  }
}

function mutatePath(r: FuzzRequest, rng: Rng): void {
  const segs = r.path.split('/');
  switch (int(rng, 9)) {
    case 0:
      r.path = `${r.path}${r.path.endsWith('/') ? '' : '/'}..%2f..%2f..%2fetc%2fpasswd`;
      return;
    case 1: // a malformed % escape in a segment
      segs[1 + int(rng, Math.max(1, segs.length - 1))] += pick(rng, [
        '%c0',
        '%',
        '%zz',
        '%E0%A4%A',
        '%00',
        '%ff%fe',
        '%2e%2e',
      ]);
      r.path = segs.join('/');
      return;
    case 2: // 64 KB
      r.path += 'a'.repeat(64 * 1024);
      return;
    case 3: // a longer but acceptable path
      r.path += '/' + 'b'.repeat(int(rng, 4000));
      return;
    case 4: // dot segments
      r.path = r.path.replace(/\/[^/]+/, '/../..');
      return;
    case 5: // doubled slashes, no leading slash
      r.path = rng() < 0.5 ? r.path.replace(/\//g, '//') : r.path.slice(1);
      return;
    case 6: // characters outside the URI grammar (as latin1 bytes)
      r.path += pick(rng, ['\u00e9', ' ', '"', '<', '{', '\\', '\u00ff']);
      return;
    case 7: // an absolute-form or asterisk target
      r.path = pick(rng, ['*', `http://127.0.0.1${r.path}`, '//x', '']);
      return;
    default: // the seed's path with one segment replaced
      segs[int(rng, segs.length)] = encode(pick(rng, WEIRD_STRINGS));
      r.path = segs.join('/');
  }
}

function mutateQuery(r: FuzzRequest, rng: Rng): void {
  switch (int(rng, 5)) {
    case 0: {
      const parts = [];
      for (let i = 0; i < 10_000; i++) parts.push(`p${i}=${i}`);
      r.query = parts.join('&');
      return;
    }
    case 1:
      r.query += `${r.query ? '&' : ''}${pick(rng, ['a=%', 'a=%zz', '%c0=1', '=', '&&&', 'Qualifier=%00', 'MaxItems=-1', 'MaxItems=1e400', 'Marker=%ff', 'X-Amz-Algorithm=AWS4-HMAC-SHA256', 'X-Amz-Signature=', 'Action=GetCallerIdentity'])}`;
      return;
    case 2:
      r.query = 'x='.repeat(3000);
      return;
    case 3:
      r.query = r.query.replace(/=[^&]*/, `=${encode(pick(rng, WEIRD_STRINGS))}`);
      return;
    default:
      r.query = '';
  }
}

const HEADER_NAMES = [
  'content-type',
  'x-amz-target',
  'x-amz-date',
  'x-amz-content-sha256',
  'x-amz-security-token',
  'authorization',
  'content-encoding',
  'x-amz-invocation-type',
  'x-amz-log-type',
  'x-amz-client-context',
  'expect',
  'range',
  'content-range',
  'accept',
  'origin',
  'x-amz-decoded-content-length',
  'transfer-encoding',
  'connection',
  'host',
];
const HEADER_VALUES = [
  '',
  ' ',
  'application/json',
  'application/x-amz-json-1.0',
  'text/xml',
  'aws-chunked',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
  '100-continue',
  'bytes=0-',
  'bytes=5-1',
  '-1',
  '99999999999999999999',
  'Event',
  'DryRun',
  'Tail',
  'Logs_20140328',
  'Logs_20140328.',
  'Logs_20140328.toString',
  'AmazonEC2ContainerRegistry_V20150921.__proto__',
  '%c0',
  'Zo\u00eb',
  'AWS4-HMAC-SHA256 Credential=/',
  'AWS4-HMAC-SHA256 Credential=test/20200101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00',
  'Basic ' + Buffer.from('AWS:').toString('base64'),
  'Basic %%%',
  'Bearer x',
  'close',
  'keep-alive, Upgrade',
  'eyJjdXN0b20iOnsibmFtZSI6IlpvXHUwMGViIn19',
  Buffer.from('{\n "c": "\u00e9\u{1f642}"\n}').toString('base64'),
  '!!!',
];

function mutateHeaders(r: FuzzRequest, rng: Rng): void {
  switch (int(rng, 6)) {
    case 0: // drop one
      if (r.headers.length > 1) r.headers.splice(1 + int(rng, r.headers.length - 1), 1);
      return;
    case 1: // set one to an odd value
      setHeader(r, pick(rng, HEADER_NAMES), pick(rng, HEADER_VALUES));
      return;
    case 2: // non-Latin-1 text, sent as its UTF-8 bytes
      setHeader(
        r,
        pick(rng, HEADER_NAMES),
        Buffer.from(pick(rng, ['Zoë', '🙂', '東京', '\u00ff\u0100']), 'utf8').toString('latin1'),
      );
      return;
    case 3: // a flood of headers (under and over node's 16 KB head limit)
      for (let i = 0, n = rng() < 0.5 ? 100 : 2000; i < n; i++)
        r.headers.push([`x-flood-${i}`, 'v'.repeat(int(rng, 20))]);
      return;
    case 4: // a duplicated header
      r.headers.push([pick(rng, HEADER_NAMES), pick(rng, HEADER_VALUES)]);
      return;
    default: // a long value
      setHeader(r, pick(rng, HEADER_NAMES), 'x'.repeat(1000 + int(rng, 20_000)));
  }
}

function setHeader(r: FuzzRequest, name: string, value: string): void {
  const i = r.headers.findIndex(([n]) => n.toLowerCase() === name);
  if (i >= 0) r.headers[i] = [name, value];
  else r.headers.push([name, value]);
}

// ---------------------------------------------------------------------------------------
// Signing and the wire

/**
 * SigV4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html),
 * written out here with node:crypto: the SDK's signer needs about a minute for a request
 * with 10,000 query parameters. The keys are the root keys (`test`/`test`).
 */
function sign(r: FuzzRequest, service: string): void {
  const now = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const date = now.slice(0, 8);
  const payloadHash = createHash('sha256').update(r.body).digest('hex');
  r.headers = r.headers.filter(([k]) => k.toLowerCase() !== 'authorization');
  setHeader(r, 'x-amz-date', now);
  setHeader(r, 'x-amz-content-sha256', payloadHash);
  const byName = new Map<string, string[]>();
  for (const [k, v] of r.headers) {
    const name = k.toLowerCase();
    if (name.startsWith('x-flood-') || UNSIGNED_HEADERS.has(name)) continue;
    byName.set(name, [...(byName.get(name) ?? []), v.trim().replace(/ +/g, ' ')]);
  }
  const names = [...byName.keys()].sort();
  const canonicalHeaders = names.map((n) => `${n}:${byName.get(n)?.join(',') ?? ''}\n`).join('');
  const path = r.path.startsWith('/') ? r.path : `/${r.path}`;
  const canonicalPath =
    service === 's3'
      ? path
      : path
          .split('/')
          .map((seg) => encode(seg))
          .join('/');
  const query = (r.query ? r.query.split('&') : [])
    .map((part) => {
      const eq = part.indexOf('=');
      const k = encode(safeDecode(eq < 0 ? part : part.slice(0, eq)));
      const v = encode(safeDecode(eq < 0 ? '' : part.slice(eq + 1)));
      return [k, v];
    })
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signedHeaders = names.join(';');
  const canonical = [
    r.method,
    canonicalPath,
    query,
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/us-east-1/${service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${now}\n${scope}\n${createHash('sha256').update(canonical, 'latin1').digest('hex')}`;
  let key: Buffer = Buffer.from('AWS4test', 'utf8');
  for (const part of [date, 'us-east-1', service, 'aws4_request'])
    key = createHmac('sha256', key).update(part).digest();
  const signature = createHmac('sha256', key).update(toSign, 'latin1').digest('hex');
  r.headers.push([
    'authorization',
    `AWS4-HMAC-SHA256 Credential=test/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  ]);
}

const UNSIGNED_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'expect',
  'connection',
  'user-agent',
]);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export type SignMode = 'signed' | 'unsigned' | 'corrupt';

/** The bytes on the wire, and whether the request is incomplete (the client then half-closes). */
export interface WireRequest {
  group: Group;
  seed: string;
  sign: SignMode;
  mutations: string[];
  bytes: Buffer;
  incomplete: boolean;
}

function serialize(r: FuzzRequest, chunked: boolean): Buffer {
  const target = r.query ? `${r.path}?${r.query}` : r.path;
  let head = `${r.method} ${target} HTTP/1.1\r\n`;
  for (const [k, v] of r.headers) {
    if (k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding') continue;
    head += `${k}: ${v}\r\n`;
  }
  if (chunked) {
    head += 'transfer-encoding: chunked\r\n\r\n';
    const parts: Buffer[] = [Buffer.from(head, 'latin1')];
    for (let at = 0; at < r.body.length; at += 4096) {
      const piece = r.body.subarray(at, at + 4096);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(parts);
  }
  if (r.body.length > 0 || r.method === 'POST' || r.method === 'PUT')
    head += `content-length: ${r.body.length}\r\n`;
  return Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), r.body]);
}

/** Wire-level damage: framing, truncation, bytes no client would send. */
function mutateWire(bytes: Buffer, rng: Rng): { bytes: Buffer; incomplete: boolean; what: string } {
  const headEnd = bytes.indexOf('\r\n\r\n');
  const head = bytes.subarray(0, headEnd < 0 ? bytes.length : headEnd).toString('latin1');
  const body = headEnd < 0 ? Buffer.alloc(0) : bytes.subarray(headEnd + 4);
  const withHead = (h: string, b: Buffer = body) =>
    Buffer.concat([Buffer.from(`${h}\r\n\r\n`, 'latin1'), b]);
  const dropFraming = (h: string) =>
    h.replace(/\r\n(content-length|transfer-encoding): [^\r]*/gi, '');
  switch (int(rng, 10)) {
    case 0: {
      const n = body.length + 1 + int(rng, 1000);
      return {
        bytes: withHead(`${dropFraming(head)}\r\ncontent-length: ${n}`),
        incomplete: true,
        what: 'content-length too large',
      };
    }
    case 1: {
      const n = int(rng, body.length + 1);
      return {
        bytes: withHead(`${dropFraming(head)}\r\ncontent-length: ${n}`),
        incomplete: false,
        what: 'content-length too small',
      };
    }
    case 2: {
      const cl = pick(rng, ['-1', 'abc', '1, 2', '99999999999999999999', ' 5', '0x10', '']);
      return {
        bytes: withHead(`${dropFraming(head)}\r\ncontent-length: ${cl}`),
        incomplete: true,
        what: `content-length ${cl}`,
      };
    }
    case 3: {
      const chunk = pick(rng, [
        `zz\r\n${body.toString('latin1')}\r\n0\r\n\r\n`,
        `${(body.length + 5).toString(16)}\r\n${body.toString('latin1')}`,
        `${body.length.toString(16)};ext="\u00ff"\r\n${body.toString('latin1')}\r\n0\r\nx-trailer: \u00e9\r\n\r\n`,
        `${body.length.toString(16)}\r\n${body.toString('latin1')}0\r\n\r\n`,
        `fffffffffffffff\r\nabc`,
        `\r\n\r\n`,
      ]);
      return {
        bytes: withHead(
          `${dropFraming(head)}\r\ntransfer-encoding: chunked`,
          Buffer.from(chunk, 'latin1'),
        ),
        incomplete: true,
        what: 'broken chunked',
      };
    }
    case 4:
      return {
        bytes: withHead(`${head}\r\ntransfer-encoding: chunked`),
        incomplete: true,
        what: 'content-length and chunked',
      };
    case 5:
      return {
        bytes: bytes.subarray(0, int(rng, bytes.length)),
        incomplete: true,
        what: 'truncated',
      };
    case 6: {
      const b = Buffer.from(bytes);
      const limit = headEnd < 0 ? b.length : headEnd;
      for (let n = 1 + int(rng, 3); n > 0 && limit > 0; n--) b[int(rng, limit)] ^= 1 << int(rng, 8);
      return { bytes: b, incomplete: true, what: 'bit flip in head' };
    }
    case 7: {
      const raw = pick(rng, [
        [0xe9],
        [0xf0, 0x9f, 0x99, 0x82],
        [0x00],
        [0x7f],
        [0x80, 0x81],
        [0x0b],
      ]);
      const h = Buffer.from(`${head}\r\nx-amz-meta-k: a`, 'latin1');
      return {
        bytes: Buffer.concat([h, Buffer.from(raw), Buffer.from('b\r\n\r\n'), body]),
        incomplete: false,
        what: 'raw header bytes',
      };
    }
    case 8: {
      const line = pick(rng, [
        'GET / HTTP/9.9',
        'G\u00c9T / HTTP/1.1',
        'GET  / HTTP/1.1',
        'GET / HTTP/1.1 x',
        'GET',
        '\x00\x00\x00',
        'PRI * HTTP/2.0',
      ]);
      return {
        bytes: withHead(line + head.slice(head.indexOf('\r\n'))),
        incomplete: true,
        what: `request line ${JSON.stringify(line)}`,
      };
    }
    default: {
      const h = head.replace('\r\n', '\r\n folded: continuation\r\n');
      return { bytes: withHead(h), incomplete: true, what: 'obsolete line folding' };
    }
  }
}

/** Request `index` of the run seeded `seed`, for the seeds of `group`. */
export async function generate(
  all: readonly Seed[],
  group: Group,
  seed: number,
  index: number,
): Promise<WireRequest> {
  const rng = requestRng(seed, index);
  const pool = all.filter((s) => s.group === group);
  const base = pick(rng, pool);
  const r: FuzzRequest = { ...base.request, headers: base.request.headers.map(([k, v]) => [k, v]) };
  const mutations: string[] = [];
  const n = 1 + int(rng, 3);
  for (let i = 0; i < n; i++) {
    const kind = int(rng, 10);
    if (kind < 5) {
      mutateBody(r, rng);
      mutations.push('body');
    } else if (kind < 7) {
      mutatePath(r, rng);
      mutations.push('path');
    } else if (kind < 8) {
      mutateQuery(r, rng);
      mutations.push('query');
    } else {
      mutateHeaders(r, rng);
      mutations.push('headers');
    }
  }
  const signRoll = rng();
  let mode: SignMode =
    r.service === undefined
      ? 'unsigned'
      : signRoll < 0.6
        ? 'signed'
        : signRoll < 0.85
          ? 'unsigned'
          : 'corrupt';
  if (mode !== 'unsigned' && r.service !== undefined) {
    try {
      sign(r, r.service);
      if (mode === 'corrupt') {
        const i = r.headers.findIndex(([k]) => k === 'authorization');
        if (i >= 0) r.headers[i][1] = corruptSignature(r.headers[i][1], rng);
      }
    } catch {
      mode = 'unsigned';
    }
  }
  let bytes = serialize(r, rng() < 0.15);
  let incomplete = false;
  if (rng() < 0.3) {
    const w = mutateWire(bytes, rng);
    bytes = w.bytes;
    incomplete = w.incomplete;
    mutations.push(w.what);
  }
  return { group, seed: base.name, sign: mode, mutations, bytes, incomplete };
}

function corruptSignature(auth: string, rng: Rng): string {
  switch (int(rng, 4)) {
    case 0:
      return auth.replace(/Signature=[0-9a-f]+/, 'Signature=' + '0'.repeat(64));
    case 1:
      return auth.replace(/Credential=[^/]+/, 'Credential=AKIA%c0');
    case 2:
      return auth.replace(/SignedHeaders=[^,]+/, 'SignedHeaders=host;x-amz-date;nope');
    default:
      return auth.slice(0, int(rng, auth.length));
  }
}

// ---------------------------------------------------------------------------------------
// Sending

export interface Outcome {
  /** The status of the first answer, or 'closed' (no answer, connection closed), or 'hang'. */
  status: number | 'closed' | 'hang';
  /** The first bytes of the answer (for failure reports). */
  head: string;
  ms: number;
}

export const HANG_MS = 10_000;

/** Sends the bytes on a fresh connection and waits for one answer, a close, or HANG_MS. */
export function send(port: number, w: WireRequest, hangMs = HANG_MS): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (status: Outcome['status']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(halfClose);
      socket.destroy();
      resolve({
        status,
        head: data.subarray(0, 600).toString('latin1'),
        ms: performance.now() - started,
      });
    };
    const timer = setTimeout(() => finish('hang'), hangMs);
    // An incomplete request never completes: the client says so by closing its side.
    const halfClose = setTimeout(() => {
      if (w.incomplete && !socket.destroyed) socket.end();
    }, 200);
    socket.on('error', () => finish(parseStatus(data) ?? 'closed'));
    socket.on('close', () => finish(parseStatus(data) ?? 'closed'));
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const answer = completeAnswer(data, w.bytes);
      if (answer !== undefined) finish(answer);
    });
    socket.on('connect', () => {
      socket.write(w.bytes);
    });
  });
}

function parseStatus(data: Buffer): number | undefined {
  // Skip interim (1xx) answers.
  let at = 0;
  for (;;) {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(data.subarray(at, at + 20).toString('latin1'));
    if (!m) return undefined;
    const status = Number(m[1]);
    if (status >= 200) return status;
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return undefined;
    at = end + 4;
  }
}

/** The status once a whole answer is in (head, and a body framed by its length or chunks). */
function completeAnswer(data: Buffer, request: Buffer): number | undefined {
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return undefined;
    const head = data.subarray(at, end).toString('latin1');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!m) return undefined;
    const status = Number(m[1]);
    if (status < 200) {
      at = end + 4;
      continue;
    }
    const isHead = request.subarray(0, 5).toString('latin1') === 'HEAD ';
    if (isHead || status === 204 || status === 304) return status;
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (cl) return data.length - (end + 4) >= Number(cl[1]) ? status : undefined;
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      return data.subarray(end + 4).includes('0\r\n\r\n') &&
        data.subarray(data.length - 5).toString('latin1') === '0\r\n\r\n'
        ? status
        : undefined;
    }
    return undefined; // framed by the close
  }
}

// ---------------------------------------------------------------------------------------
// A run

export interface Failure {
  index: number;
  group: Group;
  seed: string;
  sign: SignMode;
  mutations: string[];
  status: Outcome['status'];
  request: string;
  answer: string;
}

export interface GroupStats {
  sent: number;
  statuses: Record<string, number>;
  failures: number;
  maxMs: number;
}

export interface RunResult {
  seed: number;
  stats: Record<string, GroupStats>;
  failures: Failure[];
  /** The server went away during the run. */
  serverGone: boolean;
  ms: number;
}

/** Whether an answer is a failure: a hang, or a 5xx AWS would not send. */
export function isFailure(status: Outcome['status']): boolean {
  if (status === 'hang') return true;
  if (status === 'closed') return false;
  return status >= 500 && status !== 501;
}

export interface RunOptions {
  port: number;
  seeds: readonly Seed[];
  seed: number;
  /** Requests per group. */
  perGroup: number;
  groups?: readonly Group[];
  concurrency?: number;
  /** Stops sending once this many ms have passed (the run is bounded in time). */
  deadlineMs?: number;
  /** The request index the run starts at (runs can be split). */
  startIndex?: number;
  /** Checked now and then: false ends the run. */
  alive?: () => boolean;
  onProgress?: (done: number, total: number) => void;
}

/** Prints a request for a failure report: printable ASCII kept, everything else escaped. */
export function printable(bytes: Buffer, max = 2000): string {
  const text = bytes.subarray(0, max).toString('latin1');
  const escaped = text.replace(/[^\x20-\x7e\n]/g, (c) =>
    c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return bytes.length > max ? `${escaped}… (${bytes.length} bytes)` : escaped;
}

export async function runFuzz(opts: RunOptions): Promise<RunResult> {
  const groups = opts.groups ?? GROUPS;
  const start = opts.startIndex ?? 0;
  const total = groups.length * opts.perGroup;
  const stats: Record<string, GroupStats> = {};
  for (const g of groups) stats[g] = { sent: 0, statuses: {}, failures: 0, maxMs: 0 };
  const failures: Failure[] = [];
  const began = performance.now();
  let next = 0;
  let serverGone = false;
  const worker = async () => {
    for (;;) {
      const k = next++;
      if (k >= total || serverGone) return;
      if (opts.deadlineMs !== undefined && performance.now() - began > opts.deadlineMs) return;
      // Interleave the groups, so that a time-bounded run covers all of them.
      const group = groups[k % groups.length];
      const index = start + k;
      const w = await generate(opts.seeds, group, opts.seed, index);
      const out = await send(opts.port, w);
      const s = stats[group];
      s.sent++;
      s.statuses[String(out.status)] = (s.statuses[String(out.status)] ?? 0) + 1;
      if (out.status !== 'hang') s.maxMs = Math.max(s.maxMs, out.ms);
      if (isFailure(out.status)) {
        s.failures++;
        if (failures.length < 50) {
          failures.push({
            index,
            group,
            seed: w.seed,
            sign: w.sign,
            mutations: w.mutations,
            status: out.status,
            request: printable(w.bytes),
            answer: out.head,
          });
        }
      }
      if (k % 200 === 0) {
        if (opts.alive && !opts.alive()) serverGone = true;
        opts.onProgress?.(k, total);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 16 }, worker));
  if (opts.alive && !opts.alive()) serverGone = true;
  return { seed: opts.seed, stats, failures, serverGone, ms: performance.now() - began };
}

/** A failure, reproducible: the seed and index regenerate the same bytes. */
export function describeFailure(seed: number, f: Failure): string {
  return (
    `[${f.group}] ${f.seed} (seed ${seed}, index ${f.index}, ${f.sign}, ${f.mutations.join(' + ')}): ` +
    `${String(f.status)}\n--- request ---\n${f.request}\n--- answer ---\n${printable(Buffer.from(f.answer, 'latin1'), 600)}`
  );
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
