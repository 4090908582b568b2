/**
 * The IAM provider: the operation modules composed into one object typed by the
 * generated IamOperations. Operations not listed answer NotImplemented via the gateway.
 */
import type { MetadataStore } from '../../storage/types.js';
import { accountOperations } from './account.js';
import { AccessKeyIndex } from './credentials.js';
import type { IamDeps } from './common.js';
import { inlinePolicyOperations } from './inline.js';
import { policyOperations } from './policies.js';
import { roleOperations } from './roles.js';
import { userOperations } from './users.js';

export function iamOperations(deps: IamDeps) {
  return {
    ...roleOperations(deps),
    ...inlinePolicyOperations(deps),
    ...policyOperations(deps),
    ...userOperations(deps),
    ...accountOperations(deps),
  };
}

export type ImplementedIamOperations = ReturnType<typeof iamOperations>;

export interface IamProvider {
  operations: ImplementedIamOperations;
  /** Active IAM user access keys, for strict-mode authentication. */
  keys: AccessKeyIndex;
}

export function createIamProvider(
  store: MetadataStore,
  now: () => Date = () => new Date(),
): IamProvider {
  const keys = new AccessKeyIndex(store);
  return { operations: iamOperations({ store, keys, now }), keys };
}
