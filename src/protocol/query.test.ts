import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateRoleCommand,
  GetAccountSummaryCommand,
  GetRoleCommand,
  IAMClient,
  ListRolesCommand,
  CreateVirtualMFADeviceCommand,
  UpdateRoleDescriptionCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { XMLParser } from 'fast-xml-parser';
import { model as iam } from '../api/iam/model.js';
import { NoSuchEntityException } from '../api/iam/errors.js';
import { model as sts } from '../api/sts/model.js';
import { model as ec2 } from '../api/ec2/model.js';
import { model as elbv2 } from '../api/elbv2/model.js';
import { AwsError } from '../shared/errors.js';
import { ec2Codec, queryCodec } from './query.js';
import {
  exchange,
  loopback,
  testCredentials,
  type Provider,
} from '../../test/helpers/sdk-loopback.js';
import type { Struct, WireRequest } from './types.js';

const endpoint = 'http://127.0.0.1:4566';

function iamClient(provider: Provider) {
  const lb = loopback(iam, provider);
  const client = new IAMClient({
    region: 'us-east-1',
    endpoint,
    credentials: testCredentials,
    requestHandler: lb.requestHandler,
    maxAttempts: 1,
  });
  return { client, exchanges: lb.exchanges };
}

function formRequest(body: string, method = 'POST'): WireRequest {
  return {
    method,
    path: '/',
    rawQuery: method === 'GET' ? body : '',
    query: method === 'GET' ? new URLSearchParams(body) : new URLSearchParams(),
    headers:
      method === 'POST'
        ? { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }
        : {},
    body: method === 'POST' ? Buffer.from(body) : Buffer.alloc(0),
  };
}

const xml = new XMLParser({ ignoreAttributes: false, parseTagValue: false });

test('IAM CreateRole: SDK request bytes parse into the input, our XML parses back in the SDK', async () => {
  const created = new Date('2024-01-02T03:04:05Z');
  const { client, exchanges } = iamClient((op, input) => {
    assert.equal(op.name, 'CreateRole');
    return {
      Role: {
        Path: '/',
        RoleName: input.RoleName,
        RoleId: 'AROAEXAMPLE',
        Arn: `arn:aws:iam::000000000000:role/${String(input.RoleName)}`,
        CreateDate: created,
        Description: input.Description,
        MaxSessionDuration: input.MaxSessionDuration,
        Tags: input.Tags,
      },
    };
  });
  const policy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Sid: 'ü' }],
  });
  const out = await client.send(
    new CreateRoleCommand({
      RoleName: 'app-role',
      AssumeRolePolicyDocument: policy,
      Description: 'a <b> & "c"',
      MaxSessionDuration: 7200,
      Tags: [
        { Key: 'team', Value: 'core' },
        { Key: 'env', Value: '' },
      ],
    }),
  );
  assert.deepEqual(exchanges[0].input, {
    RoleName: 'app-role',
    AssumeRolePolicyDocument: policy,
    Description: 'a <b> & "c"',
    MaxSessionDuration: 7200,
    Tags: [
      { Key: 'team', Value: 'core' },
      { Key: 'env', Value: '' },
    ],
  });
  assert.equal(out.Role?.RoleName, 'app-role');
  assert.equal(out.Role?.Description, 'a <b> & "c"');
  assert.equal(out.Role?.MaxSessionDuration, 7200);
  assert.deepEqual(out.Role?.CreateDate, created);
  assert.deepEqual(out.Role?.Tags, [
    { Key: 'team', Value: 'core' },
    { Key: 'env', Value: '' },
  ]);
  assert.equal(out.$metadata.requestId, 'a1b2c3d4-0000-4000-8000-000000000001');
  const body = String(exchanges[0].response.body);
  assert.match(
    body,
    /^<CreateRoleResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/">/,
  );
  assert.match(body, /<CreateDate>2024-01-02T03:04:05Z<\/CreateDate>/);
  assert.match(body, /<Tags><member><Key>team<\/Key>/);
  assert.equal(exchanges[0].response.headers['Content-Type'], 'text/xml');
});

test('IAM ListRoles: integers, booleans, millisecond timestamps, empty results', async () => {
  const { client, exchanges } = iamClient((_op, input) => ({
    Roles:
      input.MaxItems === 1
        ? [
            {
              Path: '/',
              RoleName: 'r',
              RoleId: 'AROA1',
              Arn: 'arn:x',
              CreateDate: new Date(1700000000123),
            },
          ]
        : [],
    IsTruncated: input.MaxItems === 1,
    Marker: input.MaxItems === 1 ? 'next' : undefined,
  }));
  const one = await client.send(new ListRolesCommand({ MaxItems: 1, PathPrefix: '/' }));
  assert.deepEqual(exchanges[0].input, { MaxItems: 1, PathPrefix: '/' });
  assert.equal(one.IsTruncated, true);
  assert.equal(one.Marker, 'next');
  assert.deepEqual(one.Roles?.[0].CreateDate, new Date(1700000000123));
  const none = await client.send(new ListRolesCommand({ MaxItems: 2 }));
  assert.deepEqual(none.Roles, []);
  assert.equal(none.IsTruncated, false);
});

test('IAM output maps and blobs: GetAccountSummary, CreateVirtualMFADevice', async () => {
  const seed = Buffer.from([0, 1, 2, 250, 255]);
  const { client } = iamClient((op) =>
    op.name === 'GetAccountSummary'
      ? { SummaryMap: { Users: 3, Roles: 10 } }
      : {
          VirtualMFADevice: {
            SerialNumber: 'arn:aws:iam::000000000000:mfa/d',
            Base32StringSeed: seed,
          },
        },
  );
  const summary = await client.send(new GetAccountSummaryCommand({}));
  assert.deepEqual(summary.SummaryMap, { Users: 3, Roles: 10 });
  const mfa = await client.send(new CreateVirtualMFADeviceCommand({ VirtualMFADeviceName: 'd' }));
  assert.deepEqual(Buffer.from(mfa.VirtualMFADevice!.Base32StringSeed!), seed);
});

test('IAM errors: modeled error with its query code, Sender type and HTTP status', async () => {
  const { client, exchanges } = iamClient(() => {
    throw new NoSuchEntityException('The role with name nope cannot be found.');
  });
  await assert.rejects(
    client.send(new GetRoleCommand({ RoleName: 'nope' })),
    (e: Error & Struct) => {
      assert.equal(e.name, 'NoSuchEntityException');
      assert.equal(e.message, 'The role with name nope cannot be found.');
      assert.equal((e.$metadata as Struct).httpStatusCode, 404);
      assert.equal(e.$fault, 'client');
      return true;
    },
  );
  const doc = xml.parse(String(exchanges[0].response.body)) as Struct;
  assert.deepEqual(doc.ErrorResponse, {
    '@_xmlns': 'https://iam.amazonaws.com/doc/2010-05-08/',
    Error: {
      Type: 'Sender',
      Code: 'NoSuchEntity',
      Message: 'The role with name nope cannot be found.',
    },
    RequestId: 'a1b2c3d4-0000-4000-8000-000000000001',
  });
});

test('IAM validation: AWS wording, ValidationError code, every violation listed', async () => {
  const { client } = iamClient(() => ({}));
  await assert.rejects(
    client.send(
      new UpdateRoleDescriptionCommand({ RoleName: 'a b', Description: 'x'.repeat(1001) }),
    ),
    (e: Error & Struct) => {
      assert.equal(e.name, 'ValidationError');
      assert.equal((e.$metadata as Struct).httpStatusCode, 400);
      assert.equal(
        e.message,
        "2 validation errors detected: Value 'a b' at 'roleName' failed to satisfy constraint: " +
          'Member must satisfy regular expression pattern: [\\w+=,.@-]+; ' +
          `Value '${'x'.repeat(1001)}' at 'description' failed to satisfy constraint: ` +
          'Member must have length less than or equal to 1000',
      );
      return true;
    },
  );
  await assert.rejects(
    client.send(
      new CreateRoleCommand({
        RoleName: 'r',
        AssumeRolePolicyDocument: '{}',
        Tags: [{ Key: 'k#', Value: 'v' }],
      }),
    ),
    /Value 'k#' at 'tags\.1\.member\.key' failed to satisfy constraint: Member must satisfy regular expression pattern/,
  );
});

test('query parsing: GET query strings, bad numbers, unknown and missing actions', async () => {
  const get = await exchange(
    formRequest('Action=GetUser&UserName=bob&Version=2010-05-08', 'GET'),
    iam,
    (op, input) => {
      assert.equal(op.name, 'GetUser');
      assert.deepEqual(input, { UserName: 'bob' });
      return {
        User: {
          Path: '/',
          UserName: 'bob',
          UserId: 'AIDA1',
          Arn: 'arn:u',
          CreateDate: new Date(0),
        },
      };
    },
  );
  assert.equal(get.response.status, 200);
  assert.match(String(get.response.body), /<GetUserResult><User>.*<UserName>bob<\/UserName>/);

  const bad = await exchange(formRequest('Action=ListRoles&MaxItems=ten'), iam, () => ({}));
  assert.equal(bad.response.status, 400);
  const err = (xml.parse(String(bad.response.body)) as { ErrorResponse: { Error: Struct } })
    .ErrorResponse.Error;
  assert.equal(err.Code, 'ValidationError');
  assert.equal(
    err.Message,
    "1 validation error detected: Value 'ten' at 'maxItems' failed to satisfy constraint: Member must be an integer",
  );

  const unknown = queryCodec.resolveOperation(formRequest('Action=DoesNotExist'), iam);
  assert.ok(unknown instanceof AwsError);
  assert.equal(unknown.code, 'InvalidAction');
  assert.equal(unknown.status, 400);
  const proto = queryCodec.resolveOperation(formRequest('Action=toString'), iam);
  assert.ok(proto instanceof AwsError);
  const missing = queryCodec.resolveOperation(formRequest('Version=2010-05-08'), iam);
  assert.ok(missing instanceof AwsError && missing.code === 'MissingAction');
});

test('query maps and nested structures (ELBv2 CreateListener)', () => {
  const req = formRequest(
    [
      'Action=CreateListener',
      'LoadBalancerArn=arn%3Alb',
      'Port=443',
      'Protocol=HTTPS',
      'DefaultActions.member.1.Type=authenticate-oidc',
      'DefaultActions.member.1.Order=1',
      'DefaultActions.member.1.AuthenticateOidcConfig.Issuer=https%3A%2F%2Fidp',
      'DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.key=prompt',
      'DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.1.value=login',
      'DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.2.key=a+b',
      'DefaultActions.member.1.AuthenticateOidcConfig.AuthenticationRequestExtraParams.entry.2.value=%E2%9C%93',
      'DefaultActions.member.1.AuthenticateOidcConfig.UseExistingClientSecret=true',
      'DefaultActions.member.2.Type=forward',
      'Certificates=',
    ].join('&'),
  );
  const op = queryCodec.resolveOperation(req, elbv2);
  assert.ok(!(op instanceof AwsError));
  const input = queryCodec.parseInput(req, op, elbv2);
  assert.deepEqual(input, {
    LoadBalancerArn: 'arn:lb',
    Port: 443,
    Protocol: 'HTTPS',
    Certificates: [],
    DefaultActions: [
      {
        Type: 'authenticate-oidc',
        Order: 1,
        AuthenticateOidcConfig: {
          Issuer: 'https://idp',
          AuthenticationRequestExtraParams: { prompt: 'login', 'a b': '✓' },
          UseExistingClientSecret: true,
        },
      },
      { Type: 'forward' },
    ],
  });
});

test('STS through its SDK client: GetCallerIdentity and a range violation', async () => {
  const lb = loopback(sts, (op) => {
    assert.equal(op.name, 'GetCallerIdentity');
    return { UserId: 'AIDA1', Account: '000000000000', Arn: 'arn:aws:iam::000000000000:root' };
  });
  const client = new STSClient({
    region: 'us-east-1',
    endpoint,
    credentials: testCredentials,
    requestHandler: lb.requestHandler,
    maxAttempts: 1,
  });
  const who = await client.send(new GetCallerIdentityCommand({}));
  assert.equal(who.Account, '000000000000');
  assert.match(
    String(lb.exchanges[0].response.body),
    /<GetCallerIdentityResult><UserId>AIDA1<\/UserId>/,
  );
  await assert.rejects(
    client.send(
      new AssumeRoleCommand({
        RoleArn: 'arn:aws:iam::000000000000:role/r',
        RoleSessionName: 'session',
        DurationSeconds: 60,
      }),
    ),
    (e: Error) => {
      assert.equal(e.name, 'ValidationError');
      assert.equal(
        e.message,
        "1 validation error detected: Value '60' at 'durationSeconds' failed to satisfy constraint: " +
          'Member must have value greater than or equal to 900',
      );
      return true;
    },
  );
});

test('EC2 DescribeInstances: flattened lists, capitalized locationNames, ec2 envelope', () => {
  const req = formRequest(
    'Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2' +
      '&Filter.1.Name=instance-state-name&Filter.1.Value.1=running&Filter.1.Value.2=pending' +
      '&MaxResults=5&DryRun=false',
  );
  const op = ec2Codec.resolveOperation(req, ec2);
  assert.ok(!(op instanceof AwsError));
  assert.equal(op.name, 'DescribeInstances');
  assert.deepEqual(ec2Codec.parseInput(req, op, ec2), {
    InstanceIds: ['i-1', 'i-2'],
    Filters: [{ Name: 'instance-state-name', Values: ['running', 'pending'] }],
    MaxResults: 5,
    DryRun: false,
  });
  const res = ec2Codec.serializeOutput(
    {
      Reservations: [
        {
          ReservationId: 'r-1',
          OwnerId: '000000000000',
          Instances: [
            { InstanceId: 'i-1', State: { Code: 16, Name: 'running' }, LaunchTime: new Date(0) },
          ],
        },
      ],
    },
    op,
    ec2,
    { requestId: 'req-1' },
  );
  const doc = xml.parse(String(res.body)) as Struct;
  assert.deepEqual(doc.DescribeInstancesResponse, {
    '@_xmlns': 'http://ec2.amazonaws.com/doc/2016-11-15',
    requestId: 'req-1',
    reservationSet: {
      item: {
        reservationId: 'r-1',
        ownerId: '000000000000',
        instancesSet: {
          item: {
            instanceId: 'i-1',
            instanceState: { code: '16', name: 'running' },
            launchTime: '1970-01-01T00:00:00Z',
          },
        },
      },
    },
  });
  const bad = formRequest('Action=DescribeInstances&MaxResults=many');
  assert.throws(
    () => ec2Codec.parseInput(bad, op, ec2),
    (e: AwsError) => e.code === 'InvalidParameterValue' && /MaxResults/.test(e.message),
  );
  const err = ec2Codec.serializeError(
    new AwsError('InvalidInstanceID.NotFound', 400, true, "The instance ID 'i-9' does not exist"),
    ec2,
    { requestId: 'req-2' },
  );
  assert.deepEqual(xml.parse(String(err.body)).Response, {
    Errors: {
      Error: {
        Code: 'InvalidInstanceID.NotFound',
        Message: "The instance ID 'i-9' does not exist",
      },
    },
    RequestID: 'req-2',
  });
});

test('XML output escapes markup and replaces characters XML 1.0 cannot carry', async () => {
  const { client } = iamClient(() => ({
    Role: {
      Path: '/',
      RoleName: 'r',
      RoleId: 'AROA1',
      Arn: 'arn:x',
      CreateDate: new Date(0),
      Description: 'a\u0000b\r\n</Description>&amp;\uD800',
    },
  }));
  const out = await client.send(new GetRoleCommand({ RoleName: 'r' }));
  assert.equal(out.Role?.Description, 'a\uFFFDb\r\n</Description>&amp;\uFFFD');
});
