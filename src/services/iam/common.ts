import type { MetadataStore } from '../../storage/types.js';
import type { ServiceAccessTracker } from './access-tracker.js';
import type { IamAuthority } from './authority.js';
import type { AccessKeyIndex } from './credentials.js';

/** What IAM's operation modules share. */
export interface IamDeps {
  store: MetadataStore;
  /** The in-memory access key index strict-mode auth reads; updated after each commit. */
  keys: AccessKeyIndex;
  /** Principals' policies for authorisation (and the Simulate operations). */
  authority: IamAuthority;
  /** Service last accessed data the authoriser records. */
  access: ServiceAccessTracker;
  now(): Date;
  /** Where clients reach Stratus (outbound federation issuer URLs), no trailing slash. */
  endpoint(): string;
}

/** Now as IAM reports it: ISO 8601 to the second ("2024-01-01T12:00:00Z"). */
export function timestamp(deps: IamDeps): string {
  const ms = deps.now().getTime();
  return new Date(ms - (ms % 1000)).toISOString().replace('.000Z', 'Z');
}
