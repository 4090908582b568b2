/**
 * Temporary credentials minted by STS (AssumeRole, GetSessionToken, GetFederationToken),
 * as a CredentialSource. Persisted so sessions outlive a restart, as on AWS; answered
 * from memory because auth asks on every request. The gateway compares the request's
 * X-Amz-Security-Token with `sessionToken` and reports ExpiredToken once `expiresAt`
 * has passed, so expired sessions stay findable for a grace period before being pruned.
 */
import type { Credential, CredentialSource } from '../../shared/context.js';
import type { MetadataStore } from '../../storage/types.js';

export const SESSIONS_TABLE = 'sts_sessions';

/** How long an expired session is still recognised (to answer ExpiredToken, not an unknown key). */
const EXPIRED_GRACE_MS = 24 * 3600 * 1000;
/** Prune expired sessions every this many new ones. */
const PRUNE_EVERY = 1000;

export type SessionRecord = Required<Pick<Credential, 'sessionToken' | 'expiresAt'>> & Credential;

export class SessionIndex implements CredentialSource {
  private sessions: Map<string, SessionRecord> | undefined;
  private loading: Promise<Map<string, SessionRecord>> | undefined;
  private generation = 0;
  private addedSincePrune = 0;

  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number = Date.now,
  ) {}

  findCredential(accessKeyId: string): Promise<Credential | undefined> {
    if (this.sessions) return Promise.resolve(this.sessions.get(accessKeyId));
    return this.load().then((s) => s.get(accessKeyId));
  }

  /** Stores a new session (one transaction) and makes it usable at once. */
  async add(session: SessionRecord): Promise<void> {
    await this.store.transaction((tx) => tx.put(SESSIONS_TABLE, session.accessKeyId, session));
    this.generation++;
    this.sessions?.set(session.accessKeyId, session);
    if (++this.addedSincePrune >= PRUNE_EVERY) {
      this.addedSincePrune = 0;
      await this.prune();
    }
  }

  /** Forgets everything (the store was reset); the next look-up reloads. */
  reset(): void {
    this.generation++;
    this.sessions = undefined;
    this.loading = undefined;
  }

  /** Drops sessions expired longer ago than the grace period, from memory and store. */
  async prune(): Promise<number> {
    const cutoff = this.now() - EXPIRED_GRACE_MS;
    const sessions = this.sessions ?? (await this.load());
    const stale: string[] = [];
    for (const [id, s] of sessions) if (s.expiresAt < cutoff) stale.push(id);
    if (stale.length === 0) return 0;
    await this.store.transaction(async (tx) => {
      for (const id of stale) await tx.delete(SESSIONS_TABLE, id);
    });
    for (const id of stale) sessions.delete(id);
    return stale.length;
  }

  private load(): Promise<Map<string, SessionRecord>> {
    this.loading ??= (async () => {
      for (;;) {
        const generation = this.generation;
        const rows = await this.store.list<SessionRecord>(SESSIONS_TABLE);
        if (generation !== this.generation) continue;
        const sessions = new Map<string, SessionRecord>();
        for (const { value } of rows) sessions.set(value.accessKeyId, value);
        this.sessions = sessions;
        this.loading = undefined;
        return sessions;
      }
    })();
    return this.loading;
  }
}
