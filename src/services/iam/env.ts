import type { MetadataStore } from '../../storage/types.js';
import type { AccessKeyIndex } from './credentials.js';

/** What IAM's operation modules share. */
export interface IamEnv {
  store: MetadataStore;
  /** The in-memory access key index strict-mode auth reads; updated after each commit. */
  keys: AccessKeyIndex;
  now(): Date;
}
