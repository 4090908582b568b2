/**
 * The execution role's credentials each invocation hands its environment. Lambda assumes
 * the role with the function name as the session name; the session is reused until five
 * minutes before it expires, so the warm path never waits for STS.
 */
import type { FunctionVersionSpec } from '../execution/types.js';
import type { SessionIssuer } from '../../sts/issuer.js';

export type Credentials = FunctionVersionSpec['credentials'];

const SESSION_SECONDS = 3600;
const REFRESH_BEFORE_MS = 5 * 60_000;

interface Entry {
  credentials: Credentials;
  refreshAt: number;
}

export class RoleCredentialCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Credentials>>();
  private generation = 0;

  constructor(
    private readonly sts: SessionIssuer,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached session when it is fresh (no promise on the warm path), else undefined. */
  peek(account: string, role: string, functionName: string): Credentials | undefined {
    const e = this.entries.get(cacheKey(account, role, functionName));
    return e !== undefined && e.refreshAt > this.now() ? e.credentials : undefined;
  }

  get(account: string, role: string, functionName: string): Promise<Credentials> {
    const key = cacheKey(account, role, functionName);
    const e = this.entries.get(key);
    if (e !== undefined && e.refreshAt > this.now()) return Promise.resolve(e.credentials);
    let p = this.pending.get(key);
    if (p === undefined) {
      const generation = this.generation;
      const minted: Promise<Credentials> = this.sts
        .assumeRoleForService(account, role, functionName, SESSION_SECONDS)
        .then((c) => {
          const credentials: Credentials = {
            accessKeyId: c.accessKeyId,
            secretAccessKey: c.secretAccessKey,
            sessionToken: c.sessionToken,
          };
          // A session minted before a reset belongs to the wiped state: not cached.
          if (generation === this.generation) {
            this.entries.set(key, { credentials, refreshAt: c.expiresAt - REFRESH_BEFORE_MS });
          }
          return credentials;
        })
        .finally(() => {
          if (this.pending.get(key) === minted) this.pending.delete(key);
        });
      this.pending.set(key, minted);
      p = minted;
    }
    return p;
  }

  /** Forgets every session (the STS state was reset). */
  clear(): void {
    this.generation++;
    this.entries.clear();
    this.pending.clear();
  }
}

const cacheKey = (account: string, role: string, functionName: string): string =>
  `${account}\0${role}\0${functionName}`;
