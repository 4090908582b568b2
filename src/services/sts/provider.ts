/**
 * STS (query protocol, global): caller identity (identity.ts) and temporary credentials
 * (tokens.ts, web-identity.ts for OpenID Connect tokens, saml.ts for SAML assertions). https://docs.aws.amazon.com/STS/latest/APIReference/welcome.html
 */
import { authorizationMessageOperations } from './authorization-messages.js';
import type { StsDeps } from './common.js';
import { identityOperations } from './identity.js';
import { organizationTokenOperations } from './organization-tokens.js';
import { samlOperations } from './saml.js';
import { tokenOperations } from './tokens.js';
import { webIdentityOperations } from './web-identity.js';

export function stsOperations(deps: StsDeps) {
  return {
    ...identityOperations(deps),
    ...tokenOperations(deps),
    ...webIdentityOperations(deps),
    ...samlOperations(deps),
    ...organizationTokenOperations(),
    ...(deps.messages ? authorizationMessageOperations(deps.messages) : {}),
    ...(deps.outbound ? deps.outbound.operations() : {}),
  };
}
