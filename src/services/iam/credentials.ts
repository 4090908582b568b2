/**
 * IAM user access keys as a CredentialSource. Strict-mode auth (and permissive mode, to
 * learn the caller) asks for every signed request, so look-ups are answered from an
 * in-memory map: loaded from the store on first use, then updated by each committed
 * write. Only Active keys are in it ("Inactive keys … can't be used to authenticate",
 * UpdateAccessKey reference).
 */
import type { Credential, CredentialSource, KeyUse } from '../../shared/context.js';
import type { MetadataStore } from '../../storage/types.js';
import { T, type AccessKeyRecord } from './store.js';

const USE_PERSIST_MS = 60_000;

export class AccessKeyIndex implements CredentialSource {
  private keys: Map<string, Credential> | undefined;
  private loading: Promise<Map<string, Credential>> | undefined;
  /** Bumped by every write, so a load that raced a write starts over. */
  private generation = 0;

  /** The newest use of each key seen by this process (the store has it within a minute). */
  private readonly used = new Map<string, KeyUse>();
  private readonly persisted = new Map<string, number>();

  constructor(private readonly store: MetadataStore) {}

  /**
   * Records an authenticated use of an IAM user's key. Kept in memory at once and written
   * to the store at most once a minute per key, off the request's path: AWS itself
   * reports last use with a delay ("may take up to four hours").
   */
  recordUse(accessKeyId: string, use: KeyUse): void {
    if (!this.keys?.has(accessKeyId)) return;
    this.used.set(accessKeyId, use);
    const last = this.persisted.get(accessKeyId) ?? 0;
    if (use.at - last < USE_PERSIST_MS) return;
    this.persisted.set(accessKeyId, use.at);
    this.store
      .transaction((tx) => tx.put(T.accessKeyUse, accessKeyId, use))
      .catch(() => this.persisted.delete(accessKeyId));
  }

  /** The newest recorded use of a key, if any. */
  async lastUsed(accessKeyId: string): Promise<KeyUse | undefined> {
    return (
      this.used.get(accessKeyId) ?? (await this.store.get<KeyUse>(T.accessKeyUse, accessKeyId))
    );
  }

  findCredential(accessKeyId: string): Promise<Credential | undefined> {
    if (this.keys) return Promise.resolve(this.keys.get(accessKeyId));
    return this.load().then((keys) => keys.get(accessKeyId));
  }

  /** Records a committed create or status change. */
  put(record: AccessKeyRecord): void {
    this.generation++;
    if (!this.keys) return;
    if (record.status === 'Active') this.keys.set(record.accessKeyId, toCredential(record));
    else this.keys.delete(record.accessKeyId);
  }

  /** Records a committed deletion. */
  remove(accessKeyId: string): void {
    this.generation++;
    this.keys?.delete(accessKeyId);
  }

  /** Forgets everything (the store was reset); the next look-up reloads. */
  reset(): void {
    this.used.clear();
    this.persisted.clear();
    this.generation++;
    this.keys = undefined;
    this.loading = undefined;
  }

  private load(): Promise<Map<string, Credential>> {
    this.loading ??= (async () => {
      for (;;) {
        const generation = this.generation;
        const rows = await this.store.list<AccessKeyRecord>(T.accessKeys);
        if (generation !== this.generation) continue;
        const keys = new Map<string, Credential>();
        for (const { value } of rows) {
          if (value.status === 'Active') keys.set(value.accessKeyId, toCredential(value));
        }
        this.keys = keys;
        this.loading = undefined;
        return keys;
      }
    })();
    return this.loading;
  }
}

function toCredential(r: AccessKeyRecord): Credential {
  return {
    accessKeyId: r.accessKeyId,
    secretAccessKey: r.secretAccessKey,
    account: r.account,
    principal: { arn: r.userArn, userId: r.userId },
  };
}
