/**
 * What the Lambda benchmark needs from Stratus: SDK clients, an execution role, functions
 * created from in-memory zips, the Invoke request signed once for wrk, and an HTTP API in
 * front of a function.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { ApiGatewayV2Client, CreateApiCommand } from '@aws-sdk/client-apigatewayv2';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  type CreateFunctionCommandInput,
} from '@aws-sdk/client-lambda';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { createZip } from '../test/helpers/zip-writer.js';
import type { CallName, SignedCall } from './calls.js';

const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };
const REGION = 'us-east-1';

export const NODE_NOOP = 'exports.handler = async () => ({ok:true});';
export const PYTHON_NOOP = 'def handler(event, context):\n    return {"ok": True}\n';

export type Family = 'node' | 'python';

export const ZIPS: Record<Family, Buffer> = {
  node: createZip([{ name: 'index.js', data: NODE_NOOP }]),
  python: createZip([{ name: 'app.py', data: PYTHON_NOOP }]),
};

const RUNTIME: Record<Family, { Runtime: 'nodejs20.x' | 'python3.12'; Handler: string }> = {
  node: { Runtime: 'nodejs20.x', Handler: 'index.handler' },
  python: { Runtime: 'python3.12', Handler: 'app.handler' },
};

export interface LambdaBench {
  lambda: LambdaClient;
  iam: IAMClient;
  role: string;
  destroy(): void;
}

export function lambdaClient(endpoint: string): LambdaClient {
  // One attempt: a retried throttle or error would hide in the latency figures.
  return new LambdaClient({ endpoint, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 });
}

export async function setUp(endpoint: string): Promise<LambdaBench> {
  const lambda = lambdaClient(endpoint);
  const iam = new IAMClient({ endpoint, region: REGION, credentials: CREDENTIALS });
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: 'sts:AssumeRole',
      },
    ],
  });
  const out = await iam.send(
    new CreateRoleCommand({ RoleName: 'bench-lambda', AssumeRolePolicyDocument: trust }),
  );
  const role = out.Role?.Arn;
  if (!role) throw new Error('CreateRole returned no ARN');
  return {
    lambda,
    iam,
    role,
    destroy() {
      lambda.destroy();
      iam.destroy();
    },
  };
}

/**
 * Creates a no-op function and waits until it is Active (polling every 5 ms; after 10 s,
 * every 500 ms: with a container driver the first function of a runtime waits for its
 * image to be built).
 */
export async function createNoop(
  b: LambdaBench,
  name: string,
  family: Family,
  extra: Partial<CreateFunctionCommandInput> = {},
): Promise<void> {
  await b.lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Role: b.role,
      Code: { ZipFile: ZIPS[family] },
      ...RUNTIME[family],
      ...extra,
    }),
  );
  const started = Date.now();
  for (;;) {
    const c = await b.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }));
    if (c.State === 'Active') return;
    if (c.State === 'Failed' || Date.now() - started > 900_000)
      throw new Error(`${name} is ${c.State}: ${c.StateReason ?? ''}`);
    await new Promise((r) => setTimeout(r, Date.now() - started < 10_000 ? 5 : 500));
  }
}

/**
 * An HTTP API quick-created in front of function `fnArn` (`$default` route and stage), with
 * the permission API Gateway needs to invoke it; its id.
 */
export async function quickHttpApi(
  b: LambdaBench,
  endpoint: string,
  fnArn: string,
): Promise<string> {
  const apigw = new ApiGatewayV2Client({ endpoint, region: REGION, credentials: CREDENTIALS });
  const api = await apigw.send(
    new CreateApiCommand({ Name: 'bench', ProtocolType: 'HTTP', Target: fnArn }),
  );
  apigw.destroy();
  await b.lambda.send(
    new AddPermissionCommand({
      FunctionName: fnArn,
      StatementId: 'apigw',
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      SourceArn: `arn:aws:execute-api:${REGION}:000000000000:${api.ApiId}/*`,
    }),
  );
  return api.ApiId ?? '';
}

/** Deletes a function; its environments are stopped with it. */
export async function deleteFunction(b: LambdaBench, name: string): Promise<void> {
  await b.lambda.send(new DeleteFunctionCommand({ FunctionName: name }));
}

/**
 * `POST /2015-03-31/functions/<name>/invocations` with body `{}`, signed once (SigV4,
 * service `lambda`), for wrk and for capturing the answer the raw server replays.
 */
export async function signInvoke(endpoint: string, functionName: string): Promise<SignedCall> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({
    service: 'lambda',
    region: REGION,
    credentials: CREDENTIALS,
    sha256: Sha256,
  });
  const body = '{}';
  const path = `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path,
      headers: { host: url.host, 'content-type': 'application/json' },
      body,
    }),
  );
  return {
    // calls.ts types `name` as the core benchmark's calls; wrk.ts and capture.ts only use
    // it as a label in messages.
    name: 'Invoke' as CallName,
    method: signed.method,
    path: signed.path,
    headers: Object.entries(signed.headers),
    body,
  };
}
