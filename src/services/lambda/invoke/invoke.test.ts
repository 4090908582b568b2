/**
 * The invoke path in-process, over a real store, IAM, STS and executor: usage rows (the
 * billing meters), throttled async events that wait in the queue, and the role sessions
 * functions get.
 */
import { UsageLedger } from '../../../billing/meter.js';
import { StoredStreams } from '../../dynamodb/streams.js';
import { TargetRegistry } from '../../../events/targets.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LambdaOperations } from '../../../api/lambda/operations.js';
import { defaultConfig } from '../../../config.js';
import type { LogEventInput, LogSink } from '../../../events/logs.js';
import type { RequestContext } from '../../../shared/context.js';
import { openStorage, type Storage } from '../../../storage/index.js';
import { iamOperations } from '../../iam/provider.js';
import { AccessKeyIndex } from '../../iam/credentials.js';
import { StoreIamDirectory } from '../../iam/role-directory.js';
import { lambdaTrustPolicy } from '../../../../test/helpers/iam.js';
import { NOT_IMPLEMENTED } from '../../plugin.js';
import { createSessionIssuer } from '../../sts/service-issuer.js';
import { SessionIndex } from '../../sts/sessions.js';
import { ProcessDriver } from '../../../runtime/process/driver.js';
import { ImageNotFoundError } from '../../../runtime/container.js';
import { createLambda, type LambdaServiceInstance } from '../plugin.js';
import { createZip } from '../../../../test/helpers/zip-writer.js';
import { RoleCredentialCache } from './credentials.js';
import { noMetrics } from '../../../events/metrics.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const ctx: RequestContext = {
  requestId: 'test',
  account: ACCOUNT,
  region: REGION,
  accessKeyId: 'test',
  principal: { arn: `arn:aws:iam::${ACCOUNT}:root`, userId: ACCOUNT },
};
const ROLE = `arn:aws:iam::${ACCOUNT}:role/fn`;

/** CloudWatch Logs stand-in: keeps what the executor appends. */
class MemoryLogs implements LogSink {
  readonly events: { group: string; message: string }[] = [];
  async append(_s: unknown, group: string, _stream: string, events: LogEventInput[]) {
    for (const e of events) this.events.push({ group, message: e.message });
  }
}

describe('the invoke path', () => {
  let storage: Storage;
  let lambda: LambdaServiceInstance;
  let ledger: UsageLedger;
  const logs = new MemoryLogs();
  const noGateway = {
    authenticate: () => Promise.reject(new Error('no data plane runs in these tests')),
    authorize: () => Promise.resolve(undefined),
    callerOf: () => Promise.resolve(undefined),
  };
  let n = 0;
  const call = ((op: string, input: unknown, requestId = `req-${++n}`) => {
    const r = lambda.dispatch(op, input as Record<string, unknown>, { ...ctx, requestId });
    if (r === NOT_IMPLEMENTED) throw new Error(`${op} not implemented`);
    return r;
  }) as <K extends keyof LambdaOperations>(
    op: K,
    input: Parameters<LambdaOperations[K]>[0],
    requestId?: string,
  ) => ReturnType<LambdaOperations[K]>;
  const create = (name: string, code = 'exports.handler = async (e) => e;') =>
    call('CreateFunction', {
      FunctionName: name,
      Runtime: 'nodejs20.x',
      Handler: 'index.handler',
      Role: ROLE,
      MemorySize: 256,
      Timeout: 30, // not the 3 s default: CI load must not time a test function out
      Code: { ZipFile: createZip([{ name: 'index.js', data: code }]) },
    });

  before(async () => {
    storage = await openStorage({ stateDir: '', ephemeral: true });
    const iam = iamOperations({
      store: storage.store,
      keys: new AccessKeyIndex(storage.store),
      now: () => new Date(),
    });
    await iam.CreateRole({ RoleName: 'fn', AssumeRolePolicyDocument: lambdaTrustPolicy }, ctx);
    const directory = new StoreIamDirectory(storage.store);
    lambda = createLambda(
      {
        config: { ...defaultConfig({}), port: 0, ephemeral: true },
        store: storage.store,
        blobs: storage.blobs,
        blobNamespace: (name) => storage.namespace(name),
        links: {
          iam: directory,
          logs,
          sts: createSessionIssuer({ iam: directory, sessions: new SessionIndex(storage.store) }),
          containers: new ProcessDriver(),
          meter: (ledger = new UsageLedger(storage.store, (err) => assert.fail(String(err)))),
          s3events: { registerLambda: () => undefined },
          metrics: noMetrics,
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
          signatures: noGateway,
        },
      },
      { STRATUS_LAMBDA_THROTTLE_BACKOFF_MS: '50', STRATUS_LAMBDA_RETRY_DELAYS_MS: '50' },
    );
    await lambda.start?.({ endpoint: 'http://127.0.0.1:1' });
  });

  after(async () => {
    await lambda.stop?.();
    await ledger.flush();
    await storage.close();
  });

  test('every invocation records a usage row; INIT is billed on a cold start', async () => {
    await create('metered');
    const t0 = Date.now();
    const cold = await call(
      'Invoke',
      { FunctionName: 'metered', Payload: Buffer.from('{}') },
      'cold',
    );
    const warm = await call(
      'Invoke',
      { FunctionName: 'metered', Payload: Buffer.from('{}') },
      'warm',
    );
    assert.equal(cold.StatusCode, 200);
    assert.equal(warm.StatusCode, 200);
    // DryRun runs nothing, so it is not metered.
    await call('Invoke', { FunctionName: 'metered', InvocationType: 'DryRun' }, 'dry');

    const rows = (await lambda.invocations.listUsage(ACCOUNT, REGION, t0)).filter(
      (r) => r.functionName === 'metered',
    );
    assert.deepEqual(
      rows.map((r) => r.requestId),
      ['cold', 'warm'],
    );
    const [c, w] = rows;
    for (const r of rows) {
      assert.equal(r.account, ACCOUNT);
      assert.equal(r.region, REGION);
      assert.equal(r.version, '$LATEST');
      assert.equal(r.memoryMb, 256);
      assert.equal(r.requests, 1);
      assert.equal(r.outcome, 'success');
      assert.equal(r.source, 'RequestResponse');
      assert.equal(r.architecture, 'x86_64');
      assert.ok(Number.isInteger(r.billedDurationMs));
      assert.ok(r.billedDurationMs >= r.durationMs, `${r.billedDurationMs} < ${r.durationMs}`);
      assert.ok(r.timestamp >= t0);
    }
    assert.ok(c.initDurationMs !== undefined && c.initDurationMs > 0);
    assert.ok(c.billedDurationMs >= c.durationMs + c.initDurationMs);
    assert.equal(w.initDurationMs, undefined);
    assert.equal(w.billedDurationMs, Math.ceil(w.durationMs));

    // `since` keeps only later rows.
    const later = await lambda.invocations.listUsage(ACCOUNT, REGION, w.timestamp + 1);
    assert.ok(!later.some((r) => r.requestId === 'warm' || r.requestId === 'cold'));
    assert.deepEqual(await lambda.invocations.listUsage(ACCOUNT, 'eu-west-1'), []);
  });

  test('a throttled async event waits in the queue and runs once concurrency frees up', async () => {
    await create('gated', "exports.handler = async (e) => { console.log('GATED', e.n); };");
    await call('PutFunctionConcurrency', {
      FunctionName: 'gated',
      ReservedConcurrentExecutions: 0,
    });
    const out = await call(
      'Invoke',
      { FunctionName: 'gated', InvocationType: 'Event', Payload: Buffer.from('{"n":7}') },
      'gated-event',
    );
    assert.equal(out.StatusCode, 202);
    await new Promise((r) => setTimeout(r, 400));
    // Several throttled tries later: still queued, never run, not billed.
    assert.equal(lambda.invocations.queuedEvents(), 1);
    assert.ok(!logs.events.some((e) => e.message.includes('GATED')));
    assert.ok(
      !(await lambda.invocations.listUsage(ACCOUNT, REGION)).some(
        (r) => r.requestId === 'gated-event',
      ),
    );

    await call('DeleteFunctionConcurrency', { FunctionName: 'gated' });
    const deadline = Date.now() + 60_000;
    while (
      !(await lambda.invocations.listUsage(ACCOUNT, REGION)).some(
        (r) => r.requestId === 'gated-event',
      )
    ) {
      assert.ok(Date.now() < deadline, 'the queued event never ran');
      await new Promise((r) => setTimeout(r, 50));
    }
    const row = (await lambda.invocations.listUsage(ACCOUNT, REGION)).find(
      (r) => r.requestId === 'gated-event',
    );
    assert.equal(row?.source, 'Event');
    assert.equal(lambda.invocations.queuedEvents(), 0);
  });

  test('changing a function retires its environments', async () => {
    await create('changing', 'const id = Math.random(); exports.handler = async () => id;');
    const first = await call('Invoke', { FunctionName: 'changing' });
    const again = await call('Invoke', { FunctionName: 'changing' });
    assert.deepEqual(Buffer.from(again.Payload ?? []), Buffer.from(first.Payload ?? []));
    // Any announced change retires the idle environment at once.
    const alive = lambda.invocations.environmentCount();
    await call('PutFunctionConcurrency', {
      FunctionName: 'changing',
      ReservedConcurrentExecutions: 10,
    });
    const deadline = Date.now() + 30_000;
    while (lambda.invocations.environmentCount() !== alive - 1) {
      assert.ok(Date.now() < deadline, 'the environment was not retired');
      await new Promise((r) => setTimeout(r, 20));
    }
    await call('UpdateFunctionConfiguration', { FunctionName: 'changing', Timeout: 10 });
    const after = await call('Invoke', { FunctionName: 'changing' });
    assert.notDeepEqual(Buffer.from(after.Payload ?? []), Buffer.from(first.Payload ?? []));
  });
});

test('role sessions are cached until five minutes before they expire', async () => {
  const storage = await openStorage({ stateDir: '', ephemeral: true });
  try {
    const iam = iamOperations({
      store: storage.store,
      keys: new AccessKeyIndex(storage.store),
      now: () => new Date(),
    });
    await iam.CreateRole({ RoleName: 'fn', AssumeRolePolicyDocument: lambdaTrustPolicy }, ctx);
    let now = Date.parse('2030-01-01T00:00:00Z');
    const sessions = new SessionIndex(storage.store);
    const issuer = createSessionIssuer({
      iam: new StoreIamDirectory(storage.store),
      sessions,
      now: () => now,
    });
    const cache = new RoleCredentialCache(issuer, () => now);
    assert.equal(cache.peek(ACCOUNT, ROLE, 'f'), undefined);
    const a = await cache.get(ACCOUNT, ROLE, 'f');
    assert.equal(cache.peek(ACCOUNT, ROLE, 'f'), a);
    assert.equal(await cache.get(ACCOUNT, ROLE, 'f'), a);
    // Another function gets its own session (its name is the session name).
    assert.notEqual((await cache.get(ACCOUNT, ROLE, 'g')).accessKeyId, a.accessKeyId);
    assert.equal(
      (await sessions.findCredential(a.accessKeyId))?.principal.arn,
      `arn:aws:sts::${ACCOUNT}:assumed-role/fn/f`,
    );
    now += 55 * 60_000 + 1;
    assert.equal(cache.peek(ACCOUNT, ROLE, 'f'), undefined);
    const b = await cache.get(ACCOUNT, ROLE, 'f');
    assert.notEqual(b.accessKeyId, a.accessKeyId);
  } finally {
    await storage.close();
  }
});
