/**
 * STS (query protocol, global). Temporary credentials it mints are exported as a
 * strict-mode CredentialSource; roles are looked up through IAM's IamDirectory. Other
 * services get role sessions for their service principals through `sessionIssuer`.
 */
import type { StsOperations } from '../../api/sts/operations.js';
import { bindProvider, type ServicePlugin } from '../plugin.js';
import { createStsProvider } from './provider.js';
import { createSessionIssuer } from './service-issuer.js';
import { SessionIndex } from './sessions.js';

export const stsPlugin: ServicePlugin = {
  name: 'sts',
  global: true,
  model: async () => (await import('../../api/sts/model.js')).model,
  create(deps) {
    const sessions = new SessionIndex(deps.store);
    const provider = createStsProvider({
      iam: deps.iam,
      sessions,
      defaultAccount: deps.config.defaultAccount,
    });
    return {
      dispatch: bindProvider<StsOperations>(provider),
      credentials: sessions,
      sessionIssuer: createSessionIssuer({ iam: deps.iam, sessions }),
      /** After POST /_stratus/reset wiped the store: forget the cached sessions. */
      async reset() {
        sessions.reset();
      },
    };
  },
};
