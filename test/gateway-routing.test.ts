/**
 * The routing table through real clients: API Gateway v2's `/v2/apis` against the
 * registry's `/v2/`, function URLs and the registry on their host forms (curl resolves
 * `*.localhost` itself; `--resolve` stands in for an /etc/hosts line for AWS's names),
 * reserved hosts, and the error for a request no route claims.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiGatewayV2Client, GetApisCommand } from '@aws-sdk/client-apigatewayv2';
import {
  CreateRepositoryCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import { CreateFunctionUrlConfigCommand } from '@aws-sdk/client-lambda';
import { awsCli, curl } from './helpers/clients.js';
import { nodeZip, openInvokeFixture, type InvokeFixture } from './helpers/lambda.js';
import { clientConfig } from './helpers/server.js';

describe('routing: Host, then SigV4 scope, then path', () => {
  let fx: InvokeFixture;
  let endpoint: string;
  let port: number;
  before(async () => {
    fx = await openInvokeFixture();
    endpoint = fx.server.endpoint;
    port = fx.server.port;
  });
  after(() => fx.close());

  test('API Gateway v2 GetApis (signed for apigateway) reaches the API chain, not the registry', async () => {
    const apigw = new ApiGatewayV2Client(clientConfig(endpoint));
    const listed = await apigw.send(new GetApisCommand({}));
    assert.deepEqual(listed.Items, []);
    apigw.destroy();
    const cli = await awsCli(endpoint, ['apigatewayv2', 'get-apis']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(JSON.parse(cli.stdout), { Items: [] });

    // The same path unsigned is still the registry's (docker and skopeo never sign).
    const registry = await curl([`${endpoint}/v2/apis/tags/list`]);
    assert.equal(registry.status, 404);
    assert.equal(registry.headers['docker-distribution-api-version'], 'registry/2.0');
    const errors = (JSON.parse(registry.body) as { errors: { code: string }[] }).errors;
    assert.equal(errors[0].code, 'NAME_UNKNOWN');
  });

  test('a function URL answers on its host form, and on AWS`s name mapped to 127.0.0.1', async () => {
    await fx.create('host-web', {
      Code: {
        ZipFile: nodeZip(`
exports.handler = async (event) => ({
  rawPath: event.rawPath,
  rawQueryString: event.rawQueryString,
  domainName: event.requestContext.domainName,
  domainPrefix: event.requestContext.domainPrefix,
});`),
      },
    });
    const url = await fx.c.lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'host-web', AuthType: 'NONE' }),
    );
    const urlId = /lambda-url\/([a-z0-9]{32})\/$/.exec(url.FunctionUrl ?? '')?.[1];
    assert.ok(urlId, url.FunctionUrl);

    const local = `${urlId}.lambda-url.us-east-1.localhost:${port}`;
    const byHost = await curl([`http://${local}/a/b?x=1`]);
    assert.equal(byHost.status, 200, byHost.body);
    assert.deepEqual(JSON.parse(byHost.body), {
      rawPath: '/a/b',
      rawQueryString: 'x=1',
      domainName: local,
      domainPrefix: urlId,
    });

    const aws = `${urlId}.lambda-url.us-east-1.on.aws`;
    const byAwsName = await curl([
      '--resolve',
      `${aws}:${port}:127.0.0.1`,
      `http://${aws}:${port}/`,
    ]);
    assert.equal(byAwsName.status, 200, byAwsName.body);
    assert.equal((JSON.parse(byAwsName.body) as { rawPath: string }).rawPath, '/');

    // The path form beside it, for clients that cannot resolve *.localhost.
    const byPath = await fetch(`${url.FunctionUrl}a/b?x=1`);
    assert.equal(((await byPath.json()) as { rawPath: string }).rawPath, '/a/b');

    // A URL id answers only under its own region, as on AWS; an unknown id is Forbidden.
    const otherRegion = await curl([`http://${urlId}.lambda-url.eu-west-1.localhost:${port}/`]);
    assert.equal(otherRegion.status, 403);
    assert.deepEqual(JSON.parse(otherRegion.body), { Message: 'Forbidden' });
    const unknown = await curl([
      `http://${'z'.repeat(32)}.lambda-url.us-east-1.localhost:${port}/`,
    ]);
    assert.equal(unknown.status, 403);
  });

  test('the registry answers on its ECR host forms, which choose the account and region', async () => {
    // Permissive mode: a 12-digit access key id selects that account.
    const ecr = new ECRClient({
      ...clientConfig(endpoint),
      region: 'us-west-2',
      credentials: { accessKeyId: '111111111111', secretAccessKey: 'x' },
    });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'routed/app' }));
    const token = (await ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0]
      .authorizationToken;
    ecr.destroy();
    assert.ok(token);

    const host = `111111111111.dkr.ecr.us-west-2.localhost:${port}`;
    const byHost = await curl([`http://${host}/v2/_catalog`]);
    assert.equal(byHost.status, 200, byHost.body);
    assert.deepEqual(JSON.parse(byHost.body), { repositories: ['routed/app'] });
    const withToken = await curl(['-H', `Authorization: Basic ${token}`, `http://${host}/v2/`]);
    assert.equal(withToken.status, 200);

    const aws = '111111111111.dkr.ecr.us-west-2.amazonaws.com';
    const byAwsName = await curl([
      '--resolve',
      `${aws}:${port}:127.0.0.1`,
      `http://${aws}:${port}/v2/_catalog`,
    ]);
    assert.deepEqual(JSON.parse(byAwsName.body), { repositories: ['routed/app'] });

    // The path form is the default account's registry.
    const byPath = await curl([`${endpoint}/v2/_catalog`]);
    assert.deepEqual(JSON.parse(byPath.body), { repositories: [] });
    // Only the distribution API lives on a registry host.
    const elsewhere = await curl([`http://${host}/other`]);
    assert.equal(elsewhere.status, 404);
    assert.equal(
      (JSON.parse(elsewhere.body) as { errors: { code: string }[] }).errors[0].code,
      'NAME_UNKNOWN',
    );
  });

  test("invoke URLs of an API that does not exist get API Gateway's 403; S3 hosts are S3", async () => {
    // https://repost.aws/knowledge-center/api-gateway-authentication-token-errors
    for (const url of [
      `http://abc123.execute-api.localhost:${port}/prod/items`,
      `${endpoint}/restapis/abc123/prod/_user_request_/items`,
      `${endpoint}/_stratus/execute-api/abc123/prod/items`,
    ]) {
      const api = await curl([url]);
      assert.equal(api.status, 403, url);
      assert.equal(api.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');
      assert.deepEqual(JSON.parse(api.body), { message: 'Missing Authentication Token' });
    }

    // S3's hosts are S3's own: a bucket that does not exist is S3's NoSuchBucket.
    const s3 = await curl([`http://photos.s3.localhost:${port}/cat.jpg`]);
    assert.equal(s3.status, 404);
    assert.match(s3.body, /<Code>NoSuchBucket<\/Code>/);
    const s3Aws = 'photos.s3.us-east-1.amazonaws.com';
    const s3ByAwsName = await curl([
      '--resolve',
      `${s3Aws}:${port}:127.0.0.1`,
      `http://${s3Aws}:${port}/`,
    ]);
    assert.equal(s3ByAwsName.status, 404);

    // Load balancers are served now: an unknown one answers as an ALB with no target would.
    const alb = await curl([`http://web-123.elb.localhost:${port}/`]);
    assert.equal(alb.status, 503);
    assert.match(alb.headers['content-type'], /text\/html/);
  });

  test('a request no route claims is told which host and path forms exist', async () => {
    const res = await curl([`${endpoint}/nothing/here`]);
    assert.equal(res.status, 400);
    const body = JSON.parse(res.body) as { __type: string; message: string };
    assert.equal(body.__type, 'UnknownServiceException');
    assert.ok(body.message.includes(`http://<url-id>.lambda-url.<region>.localhost:${port}/`));
    assert.ok(body.message.includes(`${endpoint}/_stratus/lambda-url/<url-id>/`));
    assert.ok(body.message.includes(`${endpoint}/v2/`));
    assert.ok(body.message.includes(`GET ${endpoint}/`));
  });
});
