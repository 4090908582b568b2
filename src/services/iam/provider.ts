/**
 * The IAM provider: the operation modules composed into one object typed by the
 * generated IamOperations. Operations not listed answer NotImplemented via the gateway.
 */
import type { MetadataStore } from '../../storage/types.js';
import { accessReportOperations } from './access-reports.js';
import { ServiceAccessTracker } from './access-tracker.js';
import { accountOperations } from './account.js';
import { contextKeyOperations } from './context-keys.js';
import { IamAuthority } from './authority.js';
import { AccessKeyIndex } from './credentials.js';
import type { IamDeps } from './common.js';
import { groupOperations } from './groups.js';
import { inlinePolicyOperations } from './inline.js';
import { instanceProfileOperations } from './instance-profiles.js';
import { loginProfileOperations } from './login-profiles.js';
import { mfaOperations } from './mfa.js';
import { oidcProviderOperations } from './oidc-providers.js';
import { organizationOperations } from './organizations.js';
import { outboundFederationOperations } from './outbound-federation.js';
import { policyOperations } from './policies.js';
import { renameOperations } from './rename.js';
import { reportOperations } from './reports.js';
import { roleOperations } from './roles.js';
import { samlProviderOperations } from './saml-providers.js';
import { serverCertificateOperations } from './server-certificates.js';
import { serviceLinkedRoleOperations } from './service-linked-roles.js';
import { simulateOperations } from './simulate.js';
import { userCredentialOperations } from './user-credentials.js';
import { userOperations } from './users.js';

/**
 * `authority` and `access` default to ones over the same store, `endpoint` to the default
 * port (unit tests build the operations alone).
 */
export function iamOperations(
  given: Omit<IamDeps, 'authority' | 'access' | 'endpoint'> & {
    authority?: IamAuthority;
    access?: ServiceAccessTracker;
    endpoint?: () => string;
  },
) {
  const deps: IamDeps = {
    ...given,
    endpoint: given.endpoint ?? (() => 'http://127.0.0.1:4566'),
    authority: given.authority ?? new IamAuthority(given.store),
    access: given.access ?? new ServiceAccessTracker(given.store),
  };
  return {
    ...roleOperations(deps),
    ...inlinePolicyOperations(deps),
    ...policyOperations(deps),
    ...userOperations(deps),
    ...groupOperations(deps),
    ...renameOperations(deps),
    ...instanceProfileOperations(deps),
    ...oidcProviderOperations(deps),
    ...samlProviderOperations(deps),
    ...mfaOperations(deps),
    ...loginProfileOperations(deps),
    ...userCredentialOperations(deps),
    ...serverCertificateOperations(deps),
    ...serviceLinkedRoleOperations(deps),
    ...reportOperations(deps),
    ...accountOperations(deps),
    ...simulateOperations(deps),
    ...contextKeyOperations(deps),
    ...organizationOperations(deps),
    ...outboundFederationOperations(deps),
    ...accessReportOperations(deps),
  };
}

export type ImplementedIamOperations = ReturnType<typeof iamOperations>;

export interface IamProvider {
  operations: ImplementedIamOperations;
  /** Active IAM user access keys, for strict-mode authentication. */
  keys: AccessKeyIndex;
  /** Principals' policies and roles' trust policies, for the gateway's authoriser. */
  authority: IamAuthority;
  /** Service last accessed data, recorded by the gateway's authoriser. */
  access: ServiceAccessTracker;
}

export function createIamProvider(
  store: MetadataStore,
  now: () => Date = () => new Date(),
  endpoint?: () => string,
): IamProvider {
  const keys = new AccessKeyIndex(store);
  const authority = new IamAuthority(store);
  const access = new ServiceAccessTracker(store);
  return {
    operations: iamOperations({ store, keys, authority, access, now, endpoint }),
    keys,
    authority,
    access,
  };
}
