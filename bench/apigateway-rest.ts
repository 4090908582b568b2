/**
 * REST API invoke path: the same no-op answer through an API Gateway REST API (a MOCK
 * integration, and a Lambda proxy integration to a no-op function), through that function's
 * Lambda function URL, and from a bare node:http server, taking turns in one run so outside
 * load falls on all alike. Figures, not pass/fail (the speed target is for HTTP
 * APIs: bench on the apigatewayv2 side).
 *
 *   npm run build && node dist/bench/apigateway-rest.js [--duration 5] [--concurrency 1,10]
 *     [--wrk /usr/bin/wrk]
 */
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  APIGatewayClient,
  CreateDeploymentCommand,
  CreateResourceCommand,
  CreateRestApiCommand,
  PutIntegrationCommand,
  PutIntegrationResponseCommand,
  PutMethodCommand,
} from '@aws-sdk/client-api-gateway';
import {
  AddPermissionCommand,
  CreateFunctionUrlConfigCommand,
  CreateFunctionCommand,
  LambdaClient,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import type { SignedCall } from './calls.js';
import { enablePinning, makeTempDir, removeTempDir, runBench } from './children.js';
import { readProfile, summarizeProfile } from './cpu-profile.js';
import { interleaved, type LoadSettings, type Target } from './http-load.js';
import type { LoadResult } from './load-result.js';
import { startRawServer } from './raw-server-process.js';
import { repoRoot, startStratus } from './stratus-process.js';
import { findWrk } from './wrk.js';
import { createZip } from '../test/helpers/zip-writer.js';

const NOOP = 'exports.handler = async () => ({ statusCode: 200, body: "ok" });';

function say(msg: string): void {
  process.stderr.write(`[apigateway-rest-bench] ${msg}\n`);
}

const get = (url: string): SignedCall => {
  const u = new URL(url);
  return { name: 'GET', method: 'GET', path: u.pathname, headers: [['host', u.host]], body: '' };
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '1,10' },
      wrk: { type: 'string' },
      /** Profile the server (node --cpu-prof) and print where its time went. */
      profile: { type: 'boolean', default: false },
    },
    strict: true,
  });
  enablePinning(process.env.BENCH_PIN !== '0');
  const load = loadavg()[0];
  const raw = await startRawServer({
    '': { status: 200, headers: [['content-type', 'text/plain']], body: 'ok' },
  });
  const profileDir = values.profile ? makeTempDir('stratus-apigw-prof-') : undefined;
  const stratus = await startStratus({
    auth: 'permissive',
    driver: 'process',
    ...(profileDir && { cpuProfDir: profileDir }),
  });
  const config = {
    endpoint: stratus.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const iam = new IAMClient(config);
  const lambda = new LambdaClient(config);
  const apigw = new APIGatewayClient(config);
  const role = await iam.send(
    new CreateRoleCommand({
      RoleName: 'bench',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      }),
    }),
  );
  const fn = await lambda.send(
    new CreateFunctionCommand({
      FunctionName: 'noop',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: role.Role?.Arn,
      Code: { ZipFile: createZip([{ name: 'index.js', data: NOOP }]) },
    }),
  );
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 60 }, { FunctionName: 'noop' });
  const url = await lambda.send(
    new CreateFunctionUrlConfigCommand({ FunctionName: 'noop', AuthType: 'NONE' }),
  );
  const api = await apigw.send(new CreateRestApiCommand({ name: 'bench' }));
  const id = api.id as string;
  await lambda.send(
    new AddPermissionCommand({
      FunctionName: 'noop',
      StatementId: 'apigw',
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      SourceArn: `arn:aws:execute-api:us-east-1:000000000000:${id}/*`,
    }),
  );
  for (const [part, type] of [
    ['mock', 'MOCK'],
    ['lambda', 'AWS_PROXY'],
  ] as const) {
    const r = await apigw.send(
      new CreateResourceCommand({ restApiId: id, parentId: api.rootResourceId, pathPart: part }),
    );
    const m = { restApiId: id, resourceId: r.id, httpMethod: 'GET' };
    await apigw.send(new PutMethodCommand({ ...m, authorizationType: 'NONE' }));
    await apigw.send(
      new PutIntegrationCommand({
        ...m,
        type,
        ...(type === 'MOCK'
          ? { requestTemplates: { 'application/json': '{"statusCode": 200}' } }
          : {
              integrationHttpMethod: 'POST',
              uri: `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${fn.FunctionArn ?? ''}/invocations`,
            }),
      }),
    );
    if (type === 'MOCK') {
      await apigw.send(
        new PutIntegrationResponseCommand({
          ...m,
          statusCode: '200',
          responseTemplates: { 'application/json': 'ok' },
        }),
      );
    }
  }
  await apigw.send(new CreateDeploymentCommand({ restApiId: id, stageName: 'prod' }));
  iam.destroy();
  lambda.destroy();
  apigw.destroy();

  const settings: LoadSettings = {
    wrk: values.wrk ?? findWrk(),
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
  };
  const base = `${stratus.endpoint}/restapis/${id}/prod/_user_request_`;
  const targets: Target[] = [
    { name: 'node:http', url: raw.endpoint, call: get(`${raw.endpoint}/`), pid: raw.child.pid },
    { name: 'REST MOCK', url: `${base}/mock`, call: get(`${base}/mock`), pid: stratus.child.pid },
    {
      name: 'REST → Lambda',
      url: `${base}/lambda`,
      call: get(`${base}/lambda`),
      pid: stratus.child.pid,
    },
    // The function URL answers chunked, which only wrk can frame.
    ...(settings.wrk
      ? [
          {
            name: 'function URL',
            url: url.FunctionUrl as string,
            call: get(url.FunctionUrl as string),
            pid: stratus.child.pid,
          },
        ]
      : []),
  ];
  for (const t of targets) {
    const res = await fetch(t.url);
    if (res.status !== 200) throw new Error(`${t.name} answers ${res.status}: ${await res.text()}`);
  }
  const fmt = (r: LoadResult) =>
    `${Math.round(r.rps)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms` +
    (r.non2xx + r.errors > 0 ? `  (${r.non2xx + r.errors} failed!)` : '');
  const rows: Record<string, unknown>[] = [];
  for (const c of values.concurrency.split(',').map(Number)) {
    const results = await interleaved(settings, targets, c);
    console.log(`\nconcurrency ${c}`);
    for (const [name, r] of results) console.log(`  ${name.padEnd(14)} ${fmt(r)}`);
    if ((results.get('REST MOCK')?.non2xx ?? 0) > 0) {
      console.log("  (a MOCK past 10,000 req/s meets AWS's account throttle: 429s, as on AWS)");
    }
    rows.push({ concurrency: c, ...Object.fromEntries(results) });
  }
  console.log(
    JSON.stringify({ bench: 'apigateway-rest', loadBefore: load, loadAfter: loadavg()[0], rows }),
  );
  await stratus.stop();
  await raw.stop();
  if (profileDir) {
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      const summary = summarizeProfile(readProfile(join(profileDir, file)), repoRoot());
      for (const h of summary.top) say(`${(h.share * 100).toFixed(1)}%  ${h.where}`);
    }
    removeTempDir(profileDir);
  }
}

runBench(main, say);
