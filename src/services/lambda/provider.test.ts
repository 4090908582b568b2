/**
 * The plugin instance in-process, over a real (ephemeral or on-disk) store and IAM:
 * the LambdaFunctions interface the invoke path uses, code sharing and collection, the
 * code download data plane, and the state flips after a restart.
 */
import { UsageLedger } from '../../billing/meter.js';
import { StoredStreams } from '../dynamodb/streams.js';
import { TargetRegistry } from '../../events/targets.js';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { LambdaOperations } from '../../api/lambda/operations.js';
import { defaultConfig } from '../../config.js';
import type { RequestContext } from '../../shared/context.js';
import { openStorage, type Storage } from '../../storage/index.js';
import { iamOperations } from '../iam/provider.js';
import { AccessKeyIndex } from '../iam/credentials.js';
import { StoreIamDirectory } from '../iam/role-directory.js';
import { NOT_IMPLEMENTED } from '../plugin.js';
import { T, functionKey, versionKey, type VersionRecord } from './store.js';
import { ProcessDriver } from '../../runtime/process/driver.js';
import { ImageNotFoundError } from '../../runtime/container.js';
import { createLambda, type LambdaServiceInstance } from './plugin.js';
import type { FunctionChange } from './lifecycle.js';
import { createZip } from '../../../test/helpers/zip-writer.js';

const ACCOUNT = '000000000000';
const ctx: RequestContext = {
  requestId: 'test',
  account: ACCOUNT,
  region: 'us-east-1',
  accessKeyId: 'test',
  principal: { arn: `arn:aws:iam::${ACCOUNT}:root`, userId: ACCOUNT },
};
const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});
const ROLE = `arn:aws:iam::${ACCOUNT}:role/fn`;

interface Fixture {
  storage: Storage;
  lambda: LambdaServiceInstance;
  call<K extends keyof LambdaOperations>(
    op: K,
    input: Parameters<LambdaOperations[K]>[0],
  ): ReturnType<LambdaOperations[K]>;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function fixture(stateDir?: string): Promise<Fixture> {
  const storage = await openStorage({
    stateDir: stateDir ?? '',
    ephemeral: stateDir === undefined,
  });
  const iam = iamOperations({
    store: storage.store,
    keys: new AccessKeyIndex(storage.store),
    now: () => new Date(),
  });
  if (!(await new StoreIamDirectory(storage.store).findRole(ACCOUNT, ROLE))) {
    await iam.CreateRole({ RoleName: 'fn', AssumeRolePolicyDocument: trust }, ctx);
  }
  const config = {
    ...defaultConfig({}),
    port: 4566,
    ephemeral: stateDir === undefined,
    stateDir: stateDir ?? '',
  };
  const lambda = createLambda({
    config,
    store: storage.store,
    blobs: storage.blobs,
    blobNamespace: (name) => storage.namespace(name),
    links: {
      iam: new StoreIamDirectory(storage.store),
      logs: { append: async () => {} },
      sts: {
        assumeRoleForService: () =>
          Promise.reject(new Error('the control plane mints no credentials')),
      },
      containers: new ProcessDriver(),
      // The control plane invokes nothing: no usage to record.
      meter: new UsageLedger(storage.store, (err) => assert.fail(String(err)), false),
      s3events: { registerLambda: () => undefined },
      dynamodbStreams: new StoredStreams(storage.store),
      eventTargets: new TargetRegistry(),
      s3objects: {
        read: async () => ({
          ok: false,
          code: 'NoSuchBucket',
          message: 'The specified bucket does not exist',
          status: 404,
        }),
      },
      images: {
        resolve: (ref) => Promise.reject(new ImageNotFoundError(ref, 'not in these tests')),
      },
      signatures: {
        authenticate: () => Promise.reject(new Error('no data plane runs in these tests')),
        authorize: () => Promise.resolve(undefined),
        callerOf: () => Promise.resolve(undefined),
      },
    },
  });
  await lambda.start?.({ endpoint: 'http://127.0.0.1:4566' });
  const call = ((op: string, input: unknown) => {
    const r = lambda.dispatch(op, input as Record<string, unknown>, ctx);
    if (r === NOT_IMPLEMENTED) throw new Error(`${op} not implemented`);
    return r;
  }) as Fixture['call'];
  const close = async () => {
    await lambda.stop?.();
    await storage.close();
  };
  cleanups.push(close);
  return { storage, lambda, call };
}

const zipOf = (body: string) => createZip([{ name: 'index.js', data: body }]);

describe('LambdaFunctions (the interface Invoke uses)', async () => {
  const { lambda, call } = await fixture();
  const fns = lambda.functions;

  test('resolves names, partial and full ARNs with qualifiers to code on disk', async () => {
    const layerZip = createZip([{ name: 'python/lib.py', data: 'X = 1\n' }]);
    const layer = await call('PublishLayerVersion', {
      LayerName: 'lib',
      Content: { ZipFile: layerZip },
    });
    await call('CreateFunction', {
      FunctionName: 'app',
      Runtime: 'python3.12',
      Handler: 'index.handler',
      Role: ROLE,
      Code: { ZipFile: zipOf('def handler(e, c):\n    return 1\n') },
      Layers: [layer.LayerVersionArn as string],
      Environment: { Variables: { STAGE: 'dev' } },
      MemorySize: 256,
    });
    // Right after CreateFunction: the resolution waits for the flip to Active.
    const t = await fns.resolve(ctx, 'app');
    assert.equal(t.version.state, 'Active');
    assert.equal(t.executedVersion, '$LATEST');
    assert.equal(t.invokedFunctionArn, `arn:aws:lambda:us-east-1:${ACCOUNT}:function:app`);
    assert.equal(
      t.version.spec.functionArn,
      `arn:aws:lambda:us-east-1:${ACCOUNT}:function:app:$LATEST`,
    );
    assert.equal(t.version.spec.memoryMb, 256);
    assert.equal(t.version.spec.timeoutSeconds, 3);
    assert.equal(t.version.spec.logGroupName, '/aws/lambda/app');
    assert.deepEqual(t.version.spec.environment, { STAGE: 'dev' });
    assert.equal(t.version.role, ROLE);
    assert.equal(
      await readFile(join(t.version.spec.codeDir, 'index.js'), 'utf8'),
      'def handler(e, c):\n    return 1\n',
    );
    assert.equal(t.version.spec.layerDirs.length, 1);
    assert.equal(
      await readFile(join(t.version.spec.layerDirs[0], 'python/lib.py'), 'utf8'),
      'X = 1\n',
    );

    await call('PublishVersion', { FunctionName: 'app' });
    const byPartial = await fns.resolve(ctx, `${ACCOUNT}:function:app:1`);
    assert.equal(byPartial.executedVersion, '1');
    assert.equal(
      byPartial.invokedFunctionArn,
      `arn:aws:lambda:us-east-1:${ACCOUNT}:function:app:1`,
    );
    const byArn = await fns.resolve(
      ctx,
      `arn:aws:lambda:us-east-1:${ACCOUNT}:function:app`,
      '$LATEST',
    );
    assert.equal(byArn.executedVersion, '$LATEST');
    await assert.rejects(
      fns.resolve(ctx, 'app', '9'),
      /Function not found: arn:aws:lambda:us-east-1:000000000000:function:app:9/,
    );
    await assert.rejects(fns.resolve(ctx, 'nope'), { name: 'ResourceNotFoundException' });
  });

  test('a weighted alias spreads over its two versions', async () => {
    await call('CreateFunction', {
      FunctionName: 'split',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: ROLE,
      Code: { ZipFile: zipOf('// v1') },
    });
    await call('PublishVersion', { FunctionName: 'split' });
    await call('UpdateFunctionCode', {
      FunctionName: 'split',
      ZipFile: zipOf('// v2'),
      Publish: true,
    });
    await call('CreateAlias', {
      FunctionName: 'split',
      Name: 'live',
      FunctionVersion: '1',
      RoutingConfig: { AdditionalVersionWeights: { '2': 0.3 } },
    });
    const counts: Record<string, number> = {};
    for (let i = 0; i < 4000; i++) {
      const t = await fns.resolve(ctx, 'split:live');
      counts[t.executedVersion] = (counts[t.executedVersion] ?? 0) + 1;
      assert.equal(t.alias, 'live');
      assert.equal(t.invokedFunctionArn, `arn:aws:lambda:us-east-1:${ACCOUNT}:function:split:live`);
    }
    assert.deepEqual(Object.keys(counts).sort(), ['1', '2']);
    assert.ok(counts['2'] > 4000 * 0.25 && counts['2'] < 4000 * 0.35, JSON.stringify(counts));
    const v2 = (await fns.resolve(ctx, 'split', '2')).version.spec.codeDir;
    assert.equal(await readFile(join(v2, 'index.js'), 'utf8'), '// v2');
  });

  test('changes reach resolutions at once, and are announced', async () => {
    const changes: FunctionChange[] = [];
    const off = fns.onChange((c) => changes.push(c));
    await call('CreateFunction', {
      FunctionName: 'live',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: ROLE,
      Code: { ZipFile: zipOf('// one') },
    });
    const first = await fns.resolve(ctx, 'live');
    await call('PutFunctionConcurrency', { FunctionName: 'live', ReservedConcurrentExecutions: 5 });
    await call('UpdateFunctionCode', { FunctionName: 'live', ZipFile: zipOf('// two') });
    const second = await fns.resolve(ctx, 'live');
    assert.notEqual(second.version.spec.codeDir, first.version.spec.codeDir);
    assert.equal(await readFile(join(second.version.spec.codeDir, 'index.js'), 'utf8'), '// two');
    assert.equal(second.reservedConcurrency, 5);
    assert.notEqual(second.version.spec.revisionId, first.version.spec.revisionId);
    await call('DeleteFunction', { FunctionName: 'live' });
    await assert.rejects(fns.resolve(ctx, 'live'), { name: 'ResourceNotFoundException' });
    off();
    assert.ok(changes.some((c) => c.kind === 'deleted' && c.functionName === 'live'));
    assert.ok(changes.filter((c) => c.kind === 'updated' && c.functionName === 'live').length >= 3);
  });

  test('event invoke configs, function URLs and policies', async () => {
    await call('CreateFunction', {
      FunctionName: 'events',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: ROLE,
      Code: { ZipFile: zipOf('//') },
    });
    const scope = { account: ACCOUNT, region: 'us-east-1' };
    assert.equal(await fns.getEventInvokeConfig(scope, 'events'), undefined);
    await fns.putEventInvokeConfig(ctx, { FunctionName: 'events', MaximumRetryAttempts: 0 });
    assert.equal((await fns.getEventInvokeConfig(scope, 'events'))?.MaximumRetryAttempts, 0);

    const url = await call('CreateFunctionUrlConfig', { FunctionName: 'events', AuthType: 'NONE' });
    const urlId = /lambda-url\/([a-z0-9]{32})\/$/.exec(url.FunctionUrl)?.[1] as string;
    const target = await fns.getFunctionUrl(urlId);
    assert.equal(target?.functionName, 'events');
    assert.equal(target?.authType, 'NONE');
    assert.equal(target?.functionUrl, url.FunctionUrl);
    assert.equal(url.FunctionUrl, `http://127.0.0.1:4566/_stratus/lambda-url/${urlId}/`);
    lambda.setEndpoint('http://localhost:9999/');
    assert.equal(
      (await call('GetFunctionUrlConfig', { FunctionName: 'events' })).FunctionUrl,
      `http://localhost:9999/_stratus/lambda-url/${urlId}/`,
    );
    await call('DeleteFunctionUrlConfig', { FunctionName: 'events' });
    assert.equal(await fns.getFunctionUrl(urlId), undefined);

    await call('AddPermission', {
      FunctionName: 'events',
      StatementId: 'url',
      Action: 'lambda:InvokeFunctionUrl',
      Principal: '*',
      FunctionUrlAuthType: 'NONE',
    });
    assert.deepEqual(await fns.getPolicy(scope, 'events'), [
      {
        Sid: 'url',
        Effect: 'Allow',
        Principal: '*',
        Action: 'lambda:InvokeFunctionUrl',
        Resource: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:events`,
        Condition: { StringEquals: { 'lambda:FunctionUrlAuthType': 'NONE' } },
      },
    ]);
  });
});

describe('code storage', async () => {
  const { lambda, storage, call } = await fixture();

  test('one zip shared by functions is stored once and collected with its last user', async () => {
    const zip = zipOf('// shared');
    for (const name of ['s1', 's2']) {
      await call('CreateFunction', {
        FunctionName: name,
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: ROLE,
        Code: { ZipFile: zip },
      });
    }
    const a = await lambda.functions.resolve(ctx, 's1');
    const b = await lambda.functions.resolve(ctx, 's2');
    assert.equal(a.version.spec.codeDir, b.version.spec.codeDir);
    const sha = a.version.spec.codeDir.split('/').pop() as string;
    await call('DeleteFunction', { FunctionName: 's1' });
    assert.ok(await storage.blobs.stat(`sha256:${sha}`));
    assert.ok(existsSync(b.version.spec.codeDir));
    await call('DeleteFunction', { FunctionName: 's2' });
    assert.equal(await storage.blobs.stat(`sha256:${sha}`), undefined);
    assert.ok(!existsSync(b.version.spec.codeDir));
  });

  test('Code.Location is served by serveCodeDownload, and nothing else is', async () => {
    const zip = zipOf('// download');
    await call('CreateFunction', {
      FunctionName: 'dl',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: ROLE,
      Code: { ZipFile: zip },
    });
    const location = (await call('GetFunction', { FunctionName: 'dl' })).Code?.Location as string;
    const path = new URL(location).pathname;
    const res = await lambda.serveCodeDownload(path);
    assert.equal(res?.status, 200);
    assert.deepEqual(res?.body, zip);
    assert.equal(res?.headers['content-type'], 'application/zip');
    assert.equal((await lambda.serveCodeDownload(path.slice(0, -2) + 'xx'))?.status, 403);
    assert.equal(await lambda.serveCodeDownload('/_stratus/health'), undefined);
  });
});

describe('restarts', () => {
  test('state flips a crash interrupted finish at start; code is extracted again when missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stratus-lambda-state-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const first = await fixture(dir);
    await first.call('CreateFunction', {
      FunctionName: 'crashy',
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: ROLE,
      Code: { ZipFile: zipOf('// persisted') },
    });
    const codeDir = (await first.lambda.functions.resolve(ctx, 'crashy')).version.spec.codeDir;
    assert.equal(dirname(codeDir), join(dir, 'lambda', 'code'));
    // As if the process died between the change and its flip.
    const key = versionKey(
      functionKey({ account: ACCOUNT, region: 'us-east-1' }, 'crashy'),
      '$LATEST',
    );
    const v = (await first.storage.store.get<VersionRecord>(T.versions, key)) as VersionRecord;
    await first.storage.store.put(T.versions, key, { ...v, lastUpdateStatus: 'InProgress' });
    await first.lambda.stop?.();
    await first.storage.close();
    cleanups.pop();
    await rm(codeDir, { recursive: true });

    const second = await fixture(dir);
    const conf = await second.call('GetFunctionConfiguration', { FunctionName: 'crashy' });
    assert.equal(conf.LastUpdateStatus, 'Successful');
    const again = await second.lambda.functions.resolve(ctx, 'crashy');
    assert.equal(
      await readFile(join(again.version.spec.codeDir, 'index.js'), 'utf8'),
      '// persisted',
    );
  });
});
