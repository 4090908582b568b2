/**
 * What recording service last accessed data costs the authoriser (`npm run bench:iam-access`):
 * the same `Authorizer.operation` call (an IAM user with 10 customer managed policies,
 * enforce mode, the decision cached as on the hot path) made by two authorisers over the
 * same IAM store, one without the access recorder and one with it, in alternating slices,
 * in one process. Printed: ns per call of each, the difference, and the recorder's own
 * `attempted` call timed alone.
 *
 *   node dist/bench/iam-access.js [--calls 200000] [--slices 10]
 */
import { parseArgs } from 'node:util';
import { services, type ServiceInfo } from '../src/api/services.js';
import { Authorizer } from '../src/gateway/authorize.js';
import { ServiceAccessTracker } from '../src/services/iam/access-tracker.js';
import { IamAuthority } from '../src/services/iam/authority.js';
import { AccessKeyIndex } from '../src/services/iam/credentials.js';
import { iamOperations } from '../src/services/iam/provider.js';
import type { Principal, RequestContext } from '../src/shared/context.js';
import { createLogger } from '../src/shared/log.js';
import { openStorage } from '../src/storage/index.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '200000' },
    slices: { type: 'string', default: '10' },
  },
});
const CALLS = Number(values.calls);
const SLICES = Number(values.slices);
const ACCOUNT = '000000000000';

const storage = await openStorage({ stateDir: '', ephemeral: true });
const { store } = storage;
const authority = new IamAuthority(store);
const iam = iamOperations({
  store,
  keys: new AccessKeyIndex(store),
  authority,
  now: () => new Date(),
});
const root: RequestContext = {
  requestId: 'bench',
  account: ACCOUNT,
  region: 'us-east-1',
  accessKeyId: 'bench',
  principal: { arn: `arn:aws:iam::${ACCOUNT}:root`, userId: ACCOUNT },
};
const { User } = await iam.CreateUser({ UserName: 'bench' }, root);
for (let p = 0; p < 10; p++) {
  const Statement = Array.from({ length: 10 }, (_, s) => ({
    Effect: 'Allow',
    Action: p === 9 && s === 9 ? 'logs:DescribeLogGroups' : `logs:Get${p}x${s}*`,
    Resource: '*',
  }));
  const { Policy } = await iam.CreatePolicy(
    { PolicyName: `p${p}`, PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement }) },
    root,
  );
  await iam.AttachUserPolicy({ UserName: 'bench', PolicyArn: Policy?.Arn ?? '' }, root);
}
const principal: Principal = { arn: User?.Arn ?? '', userId: User?.UserId ?? '' };
const logs = services.find((s) => s.name === 'logs') as ServiceInfo;
const log = createLogger('error');
const tracker = new ServiceAccessTracker(store);
const without = new Authorizer('enforce', authority, [authority], log);
const withAccess = new Authorizer('enforce', authority, [authority], log, tracker);

const call = (a: Authorizer) =>
  a.operation({
    account: ACCOUNT,
    region: 'us-east-1',
    principal,
    service: logs,
    protocol: 'json',
    operation: 'DescribeLogGroups',
    input: {},
  });

// Warm-up: the catalogue and the principal load once, then every call is synchronous.
for (const a of [without, withAccess]) {
  for (let i = 0; i < 3; i++) {
    const r = call(a);
    if (r instanceof Promise) await r;
  }
  if (call(a) !== undefined) throw new Error('the bench call was refused or went async');
}

const time = (a: Authorizer, n: number): number => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) call(a);
  return Number(process.hrtime.bigint() - start);
};
let nsWithout = 0;
let nsWith = 0;
const per = Math.ceil(CALLS / SLICES);
for (let s = 0; s < SLICES; s++) {
  if (s % 2 === 0) {
    nsWithout += time(without, per);
    nsWith += time(withAccess, per);
  } else {
    nsWith += time(withAccess, per);
    nsWithout += time(without, per);
  }
}
const total = per * SLICES;
const a = nsWithout / total;
const b = nsWith / total;
console.log(`authoriser without access recording: ${a.toFixed(0)} ns/call`);
console.log(`authoriser with access recording:    ${b.toFixed(0)} ns/call`);
console.log(`added per call: ${(b - a).toFixed(0)} ns (ratio ${(b / a).toFixed(2)})`);

// The recorder alone, on a principal already seen (what every call adds).
const alone = (n: number): number => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) tracker.attempted(principal, 'logs:DescribeLogGroups', 'us-east-1');
  return Number(process.hrtime.bigint() - start);
};
alone(per);
console.log(`the recorder alone: ${(alone(total) / total).toFixed(0)} ns/call`);
await tracker.flush();
await storage.close();
