/** Shared fixtures for IAM and STS unit tests: a fresh ephemeral store and a caller. */
import type { Principal, RequestContext } from '../../src/shared/context.js';
import { openStorage } from '../../src/storage/index.js';
import { AccessKeyIndex } from '../../src/services/iam/credentials.js';
import { iamOperations } from '../../src/services/iam/provider.js';
import { StoreIamDirectory } from '../../src/services/iam/role-directory.js';

export const ACCOUNT = '000000000000';

export function callerContext(account = ACCOUNT, principal?: Principal): RequestContext {
  return {
    requestId: 'test-request',
    account,
    region: 'us-east-1',
    accessKeyId: 'test',
    principal: principal ?? { arn: `arn:aws:iam::${account}:root`, userId: account },
  };
}

export const lambdaTrustPolicy = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
  ],
});

export async function iamFixture() {
  const storage = await openStorage({ stateDir: '', ephemeral: true });
  const { store } = storage;
  const keys = new AccessKeyIndex(store);
  const iam = iamOperations({ store, keys, now: () => new Date() });
  return { storage, store, keys, iam, directory: new StoreIamDirectory(store) };
}
