/**
 * Lambda invoke from the other clients and from inside functions: the AWS CLI creating and
 * invoking Node, Python and shell `provided` functions, boto3 with a log tail, SDK calls from
 * handlers with no endpoint configuration, and the function session in strict auth mode.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateFunctionCommand,
  CreateFunctionUrlConfigCommand,
  InvokeCommand,
} from '@aws-sdk/client-lambda';
import { createZip } from './helpers/zip-writer.js';
import { AWS_CLI, awsCli, python } from './helpers/clients.js';
import {
  ACCOUNT,
  NODE_ECHO,
  PYTHON_ECHO,
  SHELL_BOOTSTRAP,
  clients,
  createRole,
  destroy,
  json,
  nodeZip,
  openInvokeFixture,
  type Clients,
  type InvokeFixture,
} from './helpers/lambda.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { signedFetch } from './helpers/sign.js';

describe('Lambda invoke: the AWS CLI, boto3 and SDKs inside functions', () => {
  let fx: InvokeFixture;
  let server: TestServer;
  let role: string;
  let dir: string;
  const create = (...args: Parameters<InvokeFixture['create']>) => fx.create(...args);
  const invoke = (...args: Parameters<InvokeFixture['invoke']>) => fx.invoke(...args);

  before(async () => {
    fx = await openInvokeFixture();
    ({ server, role, dir } = fx);
  });
  after(() => fx.close());

  test('the AWS CLI creates, waits for and invokes a Node, a Python and a `provided` function', async () => {
    const v2 = (await awsCli(server.endpoint, ['--version'])).stdout.includes('aws-cli/2');
    const cases = [
      {
        name: 'cli-node',
        runtime: 'nodejs22.x',
        handler: 'index.handler',
        zip: nodeZip(NODE_ECHO),
        check: (b: Record<string, unknown>) => assert.equal(b.version, '$LATEST'),
      },
      {
        name: 'cli-python',
        runtime: 'python3.12',
        handler: 'app.handler',
        zip: createZip([{ name: 'app.py', data: PYTHON_ECHO }]),
        check: (b: Record<string, unknown>) => assert.equal(b.runtime, 'python'),
      },
      {
        name: 'cli-shell',
        runtime: 'provided.al2023',
        handler: 'function.handler',
        zip: createZip([{ name: 'bootstrap', data: SHELL_BOOTSTRAP, mode: 0o755 }]),
        check: (b: Record<string, unknown>) => {
          assert.equal(b.shell, true);
          assert.equal(b.handler, 'function.handler');
        },
      },
    ];
    for (const { name, runtime, handler, zip, check } of cases) {
      const zipFile = join(dir, `${name}.zip`);
      await writeFile(zipFile, zip);
      const created = await awsCli(server.endpoint, [
        'lambda',
        'create-function',
        '--function-name',
        name,
        '--runtime',
        runtime,
        '--handler',
        handler,
        '--role',
        role,
        '--zip-file',
        `fileb://${zipFile}`,
        '--timeout', // not the 3 s default: CI load must not time a test function out
        '30',
      ]);
      assert.equal(created.code, 0, `${AWS_CLI}: ${created.stderr}`);
      const waited = await awsCli(server.endpoint, [
        'lambda',
        'wait',
        'function-active-v2',
        '--function-name',
        name,
      ]);
      assert.equal(waited.code, 0, `${AWS_CLI}: ${waited.stderr}`);
      const file = join(dir, `${name}.json`);
      const r = await awsCli(server.endpoint, [
        'lambda',
        'invoke',
        '--function-name',
        name,
        '--payload',
        '{"via":"cli"}',
        ...(v2 ? ['--cli-binary-format', 'raw-in-base64-out'] : []),
        file,
      ]);
      assert.equal(r.code, 0, `${AWS_CLI}: ${r.stderr}`);
      const meta = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(meta.StatusCode, 200);
      assert.equal(meta.ExecutedVersion, '$LATEST');
      const body = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      assert.deepEqual(body.event, { via: 'cli' });
      check(body);
    }
  });

  test('boto3 invokes with LogType Tail', async () => {
    // cli-python is the Python function the AWS CLI test above created.
    const r = await python(
      server.endpoint,
      `
import base64, json, os, boto3
client = boto3.client("lambda", endpoint_url=os.environ["ENDPOINT"])
out = client.invoke(FunctionName="cli-python", Payload=b'{"via":"boto3"}', LogType="Tail")
print(json.dumps({
  "status": out["StatusCode"],
  "payload": json.loads(out["Payload"].read()),
  "log": base64.b64decode(out["LogResult"]).decode(),
}))
`,
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      status: number;
      payload: { event: unknown };
      log: string;
    };
    assert.equal(out.status, 200);
    assert.deepEqual(out.payload.event, { via: 'boto3' });
    assert.match(out.log, /py-echo \{"via": "boto3"\}/);
  });

  test('handlers reach Stratus with the SDK and no endpoint configuration', async () => {
    await create('who-node', {
      Timeout: 30,
      Code: {
        ZipFile: nodeZip(`
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
exports.handler = async () => {
  const r = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  return { Account: r.Account, Arn: r.Arn };
};`),
      },
    });
    await create('who-python', {
      Timeout: 30,
      Runtime: 'python3.12',
      Handler: 'app.handler',
      Code: {
        ZipFile: createZip([
          {
            name: 'app.py',
            data: `
import boto3

def handler(event, context):
    r = boto3.client("sts").get_caller_identity()
    return {"Account": r["Account"], "Arn": r["Arn"]}
`,
          },
        ]),
      },
    });
    for (const name of ['who-node', 'who-python']) {
      const out = await invoke(name, {});
      assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
      assert.deepEqual(json(out.Payload), {
        Account: ACCOUNT,
        Arn: `arn:aws:sts::${ACCOUNT}:assumed-role/invoke-role/${name}`,
      });
    }
  });
});

describe('Lambda invoke in strict mode', () => {
  let server: TestServer;
  let c: Clients;

  before(async () => {
    server = await startTestServer({ auth: 'strict' });
    c = clients(server.endpoint);
  });
  after(async () => {
    destroy(c);
    await server.stop();
  });

  test('the function session authenticates; AWS_IAM URLs verify the signature', async () => {
    const role = await createRole(c.iam, 'strict-role');
    await c.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'who',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role,
        Timeout: 30,
        Code: {
          ZipFile: nodeZip(`
const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
exports.handler = async () => (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn;`),
        },
      }),
    );
    const out = await c.lambda.send(new InvokeCommand({ FunctionName: 'who' }));
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    assert.equal(json(out.Payload), `arn:aws:sts::${ACCOUNT}:assumed-role/strict-role/who`);

    const url = await c.lambda.send(
      new CreateFunctionUrlConfigCommand({ FunctionName: 'who', AuthType: 'AWS_IAM' }),
    );
    const path = new URL(url.FunctionUrl as string).pathname;
    const good = await signedFetch(server.endpoint, { service: 'lambda', method: 'GET', path });
    assert.equal(good.status, 200, good.text);
    const forged = await signedFetch(server.endpoint, {
      service: 'lambda',
      method: 'GET',
      path,
      secretAccessKey: 'wrong',
    });
    assert.equal(forged.status, 403);
  });
});
