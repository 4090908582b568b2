/**
 * `PackageType: Image` functions on the runc and docker drivers, through the AWS CLI v2 and SDK v3: a
 * function image made of Stratus's nodejs22.x runtime image (pulled from Stratus's ECR
 * with skopeo) plus a layer holding the handler, pushed back with skopeo, created with
 * `--package-type Image --code ImageUri=…`, invoked, updated to a new tag, invoked again.
 * GetFunction shows the URI and the digest it resolved to; a published version keeps its
 * digest when the tag moves; ImageConfig overrides the image's CMD and WORKDIR; AWS's
 * errors for a missing image, a URI outside the account's ECR and zip-only fields.
 *
 * The runtime image comes from the shared builder cache (see lambda-containers.test.ts).
 * Each driver is skipped where it cannot run; both where skopeo or umoci are missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateRepositoryCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
} from '@aws-sdk/client-ecr';
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import { containerDrivers } from './helpers/drivers.js';
import { awsCli } from './helpers/clients.js';
import { clients, createRole, destroy, type Clients } from './helpers/lambda.js';
import { addFilesLayer, copyImage, imageToolsMissing } from './helpers/oci-image.js';
import { clientConfig, startTestServer, type TestServer } from './helpers/server.js';
import { createZip } from './helpers/zip-writer.js';

const toolsMissing = imageToolsMissing();
const IMAGE_CACHE = join(tmpdir(), 'stratus-test-images');
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const REGISTRY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;

const handler = (label: string) => `
export const handler = async (event) => ({
  label: '${label}',
  version: process.version,
  handlerVar: process.env._HANDLER,
  taskRoot: process.env.LAMBDA_TASK_ROOT,
  fn: process.env.AWS_LAMBDA_FUNCTION_NAME,
  cwd: process.cwd(),
  uid: process.getuid(),
  event,
});
export const other = async () => ({ label: 'other handler', cwd: process.cwd() });
`;

for (const { driver, skip } of await containerDrivers()) {
  describe(
    `Lambda PackageType Image functions on ${driver}`,
    { skip: skip || (toolsMissing ?? false) },
    () => {
      let server: TestServer;
      let c: Clients;
      let ecr: ECRClient;
      let role: string;
      let creds: string;
      let work: string;
      let previousCache: string | undefined;

      /** The runtime image plus a handler layer, pushed to `fns/node:<tag>`; its digest. */
      async function pushFunctionImage(tag: string, label: string): Promise<string> {
        const host = new URL(server.endpoint).host;
        const layout = join(work, 'layout');
        await copyImage(`docker://${host}/stratus/lambda-nodejs:22`, `oci:${layout}:${tag}`, {
          srcCreds: creds,
        });
        const built = await addFilesLayer(
          layout,
          tag,
          { '/var/task/index.mjs': handler(label) },
          { Cmd: ['index.handler'] },
        );
        await copyImage(built.ref, `docker://${host}/fns/node:${tag}`, { destCreds: creds });
        return built.digest;
      }

      async function invoke(name: string, qualifier?: string) {
        const out = await c.lambda.send(
          new InvokeCommand({
            FunctionName: name,
            Qualifier: qualifier,
            Payload: Buffer.from('{"n":1}'),
          }),
        );
        const body = JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8')) as Record<
          string,
          unknown
        >;
        assert.equal(out.FunctionError, undefined, JSON.stringify(body));
        return body;
      }

      before(async () => {
        previousCache = process.env.STRATUS_IMAGE_CACHE;
        process.env.STRATUS_IMAGE_CACHE = IMAGE_CACHE;
        work = await mkdtemp(join(tmpdir(), 'lambda-image-'));
        server = await startTestServer({ driver });
        c = clients(server.endpoint);
        ecr = new ECRClient(clientConfig(server.endpoint));
        role = await createRole(c.iam, 'image-fn-role');
        // A zip function of the same runtime puts the runtime image into ECR (built offline
        // from the shared cache when missing), as a user's first nodejs22.x function would.
        await c.lambda.send(
          new CreateFunctionCommand({
            FunctionName: 'zip-first',
            Timeout: 30, // not the 3 s default: CI load must not time a test function out
            Runtime: 'nodejs22.x',
            Handler: 'index.handler',
            Role: role,
            Code: { ZipFile: createZip([{ name: 'index.mjs', data: handler('zip') }]) },
          }),
        );
        await waitUntilFunctionActiveV2(
          { client: c.lambda, maxWaitTime: 900 },
          { FunctionName: 'zip-first' },
        );
        await ecr.send(new CreateRepositoryCommand({ repositoryName: 'fns/node' }));
        const auth = await ecr.send(new GetAuthorizationTokenCommand({}));
        creds = Buffer.from(
          auth.authorizationData?.[0]?.authorizationToken ?? '',
          'base64',
        ).toString('utf8');
      });
      after(async () => {
        destroy(c);
        ecr?.destroy();
        await server?.stop();
        if (work) await rm(work, { recursive: true, force: true });
        if (previousCache === undefined) delete process.env.STRATUS_IMAGE_CACHE;
        else process.env.STRATUS_IMAGE_CACHE = previousCache;
      });

      test('created with the AWS CLI from an ECR image URI, invoked, updated, invoked again', async () => {
        const v1 = await pushFunctionImage('v1', 'first');
        const created = await awsCli(server.endpoint, [
          'lambda',
          'create-function',
          '--function-name',
          'img',
          '--package-type',
          'Image',
          '--code',
          `ImageUri=${REGISTRY}/fns/node:v1`,
          '--role',
          role,
          '--publish',
        ]);
        assert.equal(created.code, 0, created.stderr);
        const config = JSON.parse(created.stdout) as Record<string, unknown>;
        assert.equal(config.PackageType, 'Image');
        assert.equal(config.Runtime, undefined);
        assert.equal(config.Handler, undefined);
        assert.equal(config.CodeSha256, v1.slice('sha256:'.length));
        assert.equal(config.Version, '1');
        await waitUntilFunctionActiveV2(
          { client: c.lambda, maxWaitTime: 60 },
          { FunctionName: 'img' },
        );

        const got = await c.lambda.send(new GetFunctionCommand({ FunctionName: 'img' }));
        assert.deepEqual(got.Code, {
          RepositoryType: 'ECR',
          ImageUri: `${REGISTRY}/fns/node:v1`,
          ResolvedImageUri: `${REGISTRY}/fns/node@${v1}`,
        });

        const first = await invoke('img');
        assert.equal(first.label, 'first');
        assert.match(String(first.version), /^v22\./);
        assert.equal(first.handlerVar, 'index.handler');
        assert.equal(first.taskRoot, '/var/task');
        assert.equal(first.fn, 'img');
        assert.equal(first.cwd, '/var/task');
        assert.equal(first.uid, 993);
        assert.deepEqual(first.event, { n: 1 });

        const v2 = await pushFunctionImage('v2', 'second');
        const updated = await awsCli(server.endpoint, [
          'lambda',
          'update-function-code',
          '--function-name',
          'img',
          '--image-uri',
          `${REGISTRY}/fns/node:v2`,
        ]);
        assert.equal(updated.code, 0, updated.stderr);
        assert.equal(
          (JSON.parse(updated.stdout) as { CodeSha256: string }).CodeSha256,
          v2.slice('sha256:'.length),
        );
        await waitUntilFunctionUpdatedV2(
          { client: c.lambda, maxWaitTime: 60 },
          { FunctionName: 'img' },
        );
        assert.equal((await invoke('img')).label, 'second');
        // Version 1 pinned the first image's digest.
        assert.equal((await invoke('img', '1')).label, 'first');
        const one = await c.lambda.send(
          new GetFunctionCommand({ FunctionName: 'img', Qualifier: '1' }),
        );
        assert.equal(one.Code?.ResolvedImageUri, `${REGISTRY}/fns/node@${v1}`);
      });

      test('ImageConfig overrides the image CMD and working directory', async () => {
        await pushFunctionImage('cfg', 'configured');
        await c.lambda.send(
          new CreateFunctionCommand({
            FunctionName: 'img-config',
            Timeout: 30, // not the 3 s default: CI load must not time a test function out
            PackageType: 'Image',
            Code: { ImageUri: `${REGISTRY}/fns/node:cfg` },
            Role: role,
            ImageConfig: { Command: ['index.other'], WorkingDirectory: '/tmp' },
          }),
        );
        await waitUntilFunctionActiveV2(
          { client: c.lambda, maxWaitTime: 60 },
          { FunctionName: 'img-config' },
        );
        const got = await c.lambda.send(new GetFunctionCommand({ FunctionName: 'img-config' }));
        assert.deepEqual(got.Configuration?.ImageConfigResponse, {
          ImageConfig: { Command: ['index.other'], WorkingDirectory: '/tmp' },
        });
        assert.deepEqual(await invoke('img-config'), { label: 'other handler', cwd: '/tmp' });

        await c.lambda.send(
          new UpdateFunctionConfigurationCommand({ FunctionName: 'img-config', ImageConfig: {} }),
        );
        await waitUntilFunctionUpdatedV2(
          { client: c.lambda, maxWaitTime: 60 },
          { FunctionName: 'img-config' },
        );
        assert.equal((await invoke('img-config')).label, 'configured');
      });

      test("AWS's errors: missing image, URIs outside the account's ECR, zip-only fields", async () => {
        const create = (code: Record<string, string>, extra: string[] = []) =>
          awsCli(server.endpoint, [
            'lambda',
            'create-function',
            '--function-name',
            'bad-img',
            '--package-type',
            'Image',
            '--code',
            Object.entries(code)
              .map(([k, v]) => `${k}=${v}`)
              .join(','),
            '--role',
            role,
            ...extra,
          ]);
        const expectError = (r: { code: number; stderr: string }, message: string) => {
          assert.notEqual(r.code, 0);
          assert.match(r.stderr, /\(InvalidParameterValueException\)/);
          assert.ok(r.stderr.includes(message), r.stderr);
        };
        for (const uri of [`${REGISTRY}/fns/node:nope`, `${REGISTRY}/nothing:v1`]) {
          expectError(
            await create({ ImageUri: uri }),
            `Source image ${uri} does not exist. Provide a valid source image.`,
          );
        }
        expectError(
          await create({ ImageUri: `${REGISTRY}/fns/node@sha256:${'0'.repeat(64)}` }),
          'does not exist. Provide a valid source image.',
        );
        for (const uri of ['docker.io/library/node:22', `${REGISTRY}/fns/node`]) {
          expectError(
            await create({ ImageUri: uri }),
            `Source image ${uri} is not valid. Provide a valid source image.`,
          );
        }
        expectError(
          await create({ ImageUri: `111111111111.dkr.ecr.${REGION}.amazonaws.com/fns/node:v1` }),
          'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
        );
        for (const extra of [
          ['--runtime', 'nodejs22.x'],
          ['--handler', 'index.handler'],
        ]) {
          expectError(
            await create({ ImageUri: `${REGISTRY}/fns/node:v1` }, extra),
            "Please don't provide Handler or Runtime or Layer when the intended function PackageType is Image.",
          );
        }
        // A Zip function cannot take an image, nor an image function a zip.
        const zipUpdate = await awsCli(server.endpoint, [
          'lambda',
          'update-function-code',
          '--function-name',
          'zip-first',
          '--image-uri',
          `${REGISTRY}/fns/node:v1`,
        ]);
        assert.ok(
          zipUpdate.stderr.includes(
            "Please don't provide ImageUri when updating a function with packageType Zip.",
          ),
          zipUpdate.stderr,
        );
        const zipFile = join(work, 'code.zip');
        await writeFile(zipFile, createZip([{ name: 'index.mjs', data: handler('zip') }]));
        const imageZip = await awsCli(server.endpoint, [
          'lambda',
          'update-function-code',
          '--function-name',
          'img',
          '--zip-file',
          `fileb://${zipFile}`,
        ]);
        assert.ok(
          imageZip.stderr.includes(
            'Please provide ImageUri when updating a function with packageType Image.',
          ),
          imageZip.stderr,
        );
      });
    },
  );
}
