/**
 * IAM (query protocol, global): roles, policies, users and access keys. Exports the
 * IamDirectory other plugins use, and the access keys as a strict-mode CredentialSource.
 */
import type { IamOperations } from '../../api/iam/operations.js';
import { bindProvider, type ServiceInstance, type ServicePlugin } from '../plugin.js';
import { createIamProvider } from './provider.js';
import { StoreIamDirectory } from './role-directory.js';

export const iamPlugin: ServicePlugin = {
  name: 'iam',
  global: true,
  model: async () => (await import('../../api/iam/model.js')).model,
  create(deps) {
    const { operations, keys } = createIamProvider(deps.store);
    const instance: ServiceInstance = {
      dispatch: bindProvider<IamOperations>(operations),
      credentials: keys,
      iamDirectory: new StoreIamDirectory(deps.store),
      /** After POST /_stratus/reset wiped the store: forget the cached keys. */
      async reset() {
        keys.reset();
      },
    };
    return instance;
  },
};
