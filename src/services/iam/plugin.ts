/**
 * IAM (query protocol, global): roles, policies, users and access keys. Exports the
 * IamDirectory other plugins use, and the access keys as a strict-mode CredentialSource.
 */
import type { IamOperations } from '../../api/iam/operations.js';
import { bindProvider, wrapDispatch, definePlugin } from '../plugin.js';
import { createIamProvider } from './provider.js';
import { StoreIamDirectory } from './role-directory.js';
import type { IamDirectory } from './directory.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** IAM's role lookups (STS AssumeRole, Lambda's execution role check). */
    iam: IamDirectory;
  }
}

/** Operations that change nothing IAM decides with. */
const READS = /^(Get|List|Simulate|Generate)/;

export const iamPlugin = definePlugin({
  name: 'iam',
  provides: ['iam', 'credentials', 'principals', 'resourcePolicies', 'serviceAccess'],
  global: true,
  model: async () => (await import('../../api/iam/model.js')).model,
  create(deps) {
    let endpoint = `http://127.0.0.1:${deps.config.port}`;
    const { operations, keys, authority, access } = createIamProvider(
      deps.store,
      undefined,
      () => endpoint,
    );
    const bound = bindProvider<IamOperations>(operations);
    return {
      dispatch: wrapDispatch(bound, (operation, input, ctx) => {
        const result = bound(operation, input, ctx);
        // Any IAM write may change who may do what: the next authorisation reloads.
        if (READS.test(operation) || typeof result === 'symbol') return result;
        return result.finally(() => authority.invalidate());
      }),
      provides: {
        iam: new StoreIamDirectory(deps.store),
        credentials: keys,
        principals: authority,
        resourcePolicies: authority,
        serviceAccess: access,
      },
      /** Learns the endpoint, for outbound federation issuer URLs. */
      async start(server) {
        endpoint = server.endpoint;
      },
      /** Writes the service last accessed data still in memory. */
      async stop() {
        await access.flush();
      },
      /** After POST /_stratus/reset wiped the store: forget the cached keys and policies. */
      async reset() {
        keys.reset();
        access.reset();
        authority.invalidate();
      },
    };
  },
});
