/**
 * IAM (query protocol, global): roles, policies, users and access keys. Exports the
 * IamDirectory other plugins use, and the access keys as a strict-mode CredentialSource.
 */
import type { IamOperations } from '../../api/iam/operations.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { createIamProvider } from './provider.js';
import { StoreIamDirectory } from './role-directory.js';
import type { IamDirectory } from './directory.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** IAM's role lookups (STS AssumeRole, Lambda's execution role check). */
    iam: IamDirectory;
  }
}

export const iamPlugin = definePlugin({
  name: 'iam',
  provides: ['iam', 'credentials'],
  global: true,
  model: async () => (await import('../../api/iam/model.js')).model,
  create(deps) {
    const { operations, keys } = createIamProvider(deps.store);
    return {
      dispatch: bindProvider<IamOperations>(operations),
      provides: { iam: new StoreIamDirectory(deps.store), credentials: keys },
      /** After POST /_stratus/reset wiped the store: forget the cached keys. */
      async reset() {
        keys.reset();
      },
    };
  },
});
