/**
 * Lambda on the runc and docker drivers: every execution environment is a container of its runtime's
 * image (built offline into Stratus's ECR on first use). Node.js 22 and Python 3.13 report
 * the versions their runtimes name, call Stratus through the SDK the image ships, cannot
 * see the host, hit the memory limit as AWS reports it, and their Runtime API refuses
 * anybody but the environment itself.
 *
 * The runtime images come from one builder cache under the OS tmp dir, shared by every run
 * (a CI machine builds each image once); only nodejs22.x, python3.13 and python3.14 are needed here.
 * Each driver is skipped where it cannot run (runc: not root, no runc; docker: no daemon).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateFunctionCommand,
  InvokeCommand,
  type Runtime,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { containerDrivers } from './helpers/drivers.js';
import { createZip } from './helpers/zip-writer.js';
import { clients, createRole, destroy, type Clients } from './helpers/lambda.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** The image builder's cache, fixed so that every run after the first finds the images. */
const IMAGE_CACHE = join(tmpdir(), 'stratus-test-images');
const HOST_SECRET = join(tmpdir(), `stratus-host-secret-${process.pid}`);

const NODE_HANDLER = `
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { readFileSync } from 'node:fs';
const MARKER = 'MARKER_VALUE';
export const handler = async (event) => {
  if (event.allocateMb) {
    const chunks = [];
    for (let i = 0; i < event.allocateMb; i++) chunks.push(Buffer.alloc(1024 * 1024, 1));
    return { allocated: chunks.length };
  }
  const who = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  let host;
  try { host = readFileSync(event.hostFile, 'utf8'); } catch (err) { host = err.code; }
  return {
    version: process.version,
    account: who.Account,
    host,
    taskRoot: process.env.LAMBDA_TASK_ROOT,
    marker: MARKER,
    uptimeMs: process.uptime() * 1000,
    runtimeApi: process.env.AWS_LAMBDA_RUNTIME_API,
    uid: process.getuid(),
  };
};
`;

const PYTHON_HANDLER = `
import sys, boto3
def handler(event, context):
    who = boto3.client('sts').get_caller_identity()
    try:
        host = open(event['hostFile']).read()
    except OSError as e:
        host = type(e).__name__
    return {'version': '%d.%d.%d' % sys.version_info[:3], 'account': who['Account'], 'host': host}
`;

for (const { driver, skip } of await containerDrivers()) {
  describe(
    `Lambda on ${driver}: environments are containers of the runtime image`,
    { skip },
    () => {
      let server: TestServer;
      let c: Clients;
      let role: string;
      let previousCache: string | undefined;

      before(async () => {
        previousCache = process.env.STRATUS_IMAGE_CACHE;
        process.env.STRATUS_IMAGE_CACHE = IMAGE_CACHE;
        writeFileSync(HOST_SECRET, 'host-only');
        server = await startTestServer({ driver });
        c = clients(server.endpoint);
        role = await createRole(c.iam, 'containers-role');
      });
      after(async () => {
        destroy(c);
        await server?.stop();
        rmSync(HOST_SECRET, { force: true });
        if (previousCache === undefined) delete process.env.STRATUS_IMAGE_CACHE;
        else process.env.STRATUS_IMAGE_CACHE = previousCache;
      });

      async function create(
        name: string,
        runtime: string,
        handler: string,
        zip: Buffer,
        memory = 256,
      ) {
        await c.lambda.send(
          new CreateFunctionCommand({
            FunctionName: name,
            Runtime: runtime as Runtime,
            Handler: handler,
            Role: role,
            MemorySize: memory,
            Timeout: 60,
            Code: { ZipFile: zip },
          }),
        );
        await waitUntilFunctionActiveV2(
          { client: c.lambda, maxWaitTime: 900 },
          { FunctionName: name },
        );
      }

      async function invoke(name: string, event: unknown) {
        const out = await c.lambda.send(
          new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(event)) }),
        );
        return {
          error: out.FunctionError,
          body: JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8')) as Record<
            string,
            unknown
          >,
        };
      }

      test('nodejs22.x: Node v22, an .mjs handler imports @aws-sdk/client-sts and calls Stratus; no host files', async () => {
        await create(
          'node22',
          'nodejs22.x',
          'index.handler',
          createZip([{ name: 'index.mjs', data: NODE_HANDLER }]),
        );
        const { error, body } = await invoke('node22', { hostFile: HOST_SECRET });
        assert.equal(error, undefined, JSON.stringify(body));
        assert.match(String(body.version), /^v22\./);
        assert.equal(body.account, '000000000000');
        assert.equal(body.host, 'ENOENT');
        assert.equal(body.taskRoot, '/var/task');
        assert.equal(body.uid, 993);

        // The Runtime API serves the environment only: not a host process, on loopback or
        // at the address the container uses.
        const [gateway, port] = String(body.runtimeApi).split(':');
        for (const host of ['127.0.0.1', gateway]) {
          await assert.rejects(
            fetch(`http://${host}:${port}/2018-06-01/runtime/invocation/next`, {
              signal: AbortSignal.timeout(5000),
            }),
          );
        }
      });

      test('a cold start takes a pre-started container of the same shape and mounts its code in', async () => {
        const code = (marker: string) =>
          createZip([{ name: 'index.mjs', data: NODE_HANDLER.replace('MARKER_VALUE', marker) }]);
        // The first cold start of a shape (runtime, memory, /tmp) starts its pool.
        await create('pool-0', 'nodejs22.x', 'index.handler', code('pool-0'));
        const first = await invoke('pool-0', { hostFile: HOST_SECRET });
        assert.equal(first.body.marker, 'pool-0', JSON.stringify(first.body));
        let pooled = 0;
        // The pool refills in the background: on a loaded machine that takes a while, so
        // retry until a deadline rather than a fixed number of times.
        const deadline = Date.now() + 120_000;
        for (let i = 1; pooled === 0 && Date.now() < deadline; i++) {
          await new Promise((r) => setTimeout(r, 1000));
          const name = `pool-${i}`;
          const createdAt = performance.now();
          await create(name, 'nodejs22.x', 'index.handler', code(name));
          const { error, body } = await invoke(name, { hostFile: HOST_SECRET });
          assert.equal(error, undefined, JSON.stringify(body));
          // Each function sees its own code, whichever container it got.
          assert.equal(body.marker, name);
          assert.match(String(body.version), /^v22\./);
          // A runtime older than its function was started before it: from the pool.
          if (Number(body.uptimeMs) > performance.now() - createdAt) pooled++;
        }
        assert.ok(pooled > 0, 'no cold start came from the pre-started pool');
      });

      // python3.14 runs on Debian testing (forky), the one suite that ships Python 3.14.
      for (const minor of ['3.13', '3.14']) {
        test(`python${minor}: Python ${minor}, boto3 calls Stratus; no host files`, async () => {
          const name = `py${minor.replace('.', '')}`;
          await create(
            name,
            `python${minor}`,
            'app.handler',
            createZip([{ name: 'app.py', data: PYTHON_HANDLER }]),
          );
          const { error, body } = await invoke(name, { hostFile: HOST_SECRET });
          assert.equal(error, undefined, JSON.stringify(body));
          assert.ok(String(body.version).startsWith(`${minor}.`), String(body.version));
          assert.equal(body.account, '000000000000');
          assert.equal(body.host, 'FileNotFoundError');
        });
      }

      test('128 MB allocating 512 MB: Runtime.OutOfMemory, and the next call gets a fresh environment', async () => {
        await create(
          'oom',
          'nodejs22.x',
          'index.handler',
          createZip([{ name: 'index.mjs', data: NODE_HANDLER }]),
          128,
        );
        const { error, body } = await invoke('oom', { allocateMb: 512 });
        assert.equal(error, 'Unhandled');
        assert.equal(body.errorType, 'Runtime.OutOfMemory');
        assert.match(
          String(body.errorMessage),
          /^RequestId: \S+ Error: Runtime exited with error: signal: killed$/,
        );
        const next = await invoke('oom', { allocateMb: 16 });
        assert.equal(next.error, undefined, JSON.stringify(next.body));
        assert.equal(next.body.allocated, 16);
      });
    },
  );
}
