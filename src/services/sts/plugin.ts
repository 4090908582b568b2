/**
 * STS (query protocol, global). Temporary credentials it mints are exported as a
 * strict-mode CredentialSource; roles are looked up through IAM's IamDirectory. Other
 * services get role sessions for their service principals through the `sts` link.
 */
import type { StsOperations } from '../../api/sts/operations.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { AuthorizationMessages } from './authorization-messages.js';
import { stsOperations } from './provider.js';
import { createSessionIssuer } from './service-issuer.js';
import { OutboundTokens } from './outbound-tokens.js';
import { SessionIndex } from './sessions.js';
import type { SessionIssuer } from './issuer.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** Role sessions for service principals (Lambda execution roles). */
    sts: SessionIssuer;
  }
}

export const stsPlugin = definePlugin({
  name: 'sts',
  needs: ['iam'],
  provides: ['sts', 'credentials'],
  global: true,
  model: async () => (await import('../../api/sts/model.js')).model,
  create(deps) {
    const sessions = new SessionIndex(deps.store);
    let endpoint = `http://127.0.0.1:${deps.config.port}`;
    const outbound = new OutboundTokens({
      store: deps.store,
      iam: deps.links.iam,
      sessions,
      endpoint: () => endpoint,
    });
    const provider = stsOperations({
      iam: deps.links.iam,
      sessions,
      messages: new AuthorizationMessages(deps.store),
      outbound,
      defaultAccount: deps.config.defaultAccount,
    });
    return {
      dispatch: bindProvider<StsOperations>(provider),
      provides: {
        sts: createSessionIssuer({ iam: deps.links.iam, sessions }),
        credentials: sessions,
      },
      dataPlanes: [outbound.dataPlane()],
      /** Learns the endpoint, for outbound federation issuer URLs. */
      async start(server) {
        endpoint = server.endpoint;
      },
      /** After POST /_stratus/reset wiped the store: forget the cached sessions and keys. */
      async reset() {
        sessions.reset();
        outbound.reset();
      },
    };
  },
});
