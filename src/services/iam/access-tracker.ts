/**
 * Service last accessed data: the newest authenticated attempt of each principal (user,
 * role — a role session counts for its role — or account root) at each action, kept in
 * memory and written to the store in batches, off the request's path. AWS dates the data
 * to the second and publishes it late ("Recent activity usually appears within four
 * hours"), so an attempt within the same second changes nothing, and a record is written
 * again only once it has moved on by a minute (a crash loses at most that minute).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html
 */
import type { AccessRecorder } from '../../policy/sources.js';
import type { Principal } from '../../shared/context.js';
import type { MetadataStore } from '../../storage/types.js';
import { T } from './store.js';

/** Who an attempt is reported for. */
export interface AccessEntity {
  account: string;
  kind: 'user' | 'role' | 'root';
  /** The user or role name as the caller's ARN spells it (empty for root). */
  name: string;
}

export interface AccessRecord {
  entity: AccessEntity;
  /** `service:Action` as the authoriser names it. */
  action: string;
  region: string;
  /** Epoch milliseconds, to the second. */
  at: number;
}

/** AWS reports last access to the second. */
const RESOLUTION_MS = 1000;
/** A record already stored is written again once it is this much newer. */
const PERSIST_MS = 60_000;
/** Pending records are written together this long after the first of them. */
const FLUSH_DELAY_MS = 2000;

const entityKey = (e: AccessEntity): string => `${e.account}/${e.kind}/${e.name.toLowerCase()}`;

export class ServiceAccessTracker implements AccessRecorder {
  private readonly latest = new Map<string, AccessRecord>();
  private readonly persisted = new Map<string, number>();
  private readonly dirty = new Set<string>();
  /** The entity of each principal object seen (principals are cached per credential). */
  private readonly entities = new WeakMap<Principal, AccessEntity | null>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number = Date.now,
  ) {}

  attempted(principal: Principal, action: string, region: string): void {
    let entity = this.entities.get(principal);
    if (entity === undefined) {
      entity = entityOf(principal.arn);
      this.entities.set(principal, entity);
    }
    if (!entity) return;
    const key = `${entityKey(entity)}\u0000${action}`;
    const at = this.now();
    const known = this.latest.get(key);
    if (known && at - known.at < RESOLUTION_MS) return;
    this.latest.set(key, { entity, action, region, at: at - (at % RESOLUTION_MS) });
    if (at - (this.persisted.get(key) ?? -Infinity) < PERSIST_MS) return;
    this.dirty.add(key);
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS).unref();
  }

  /** Writes what is pending in one transaction. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const keys = [...this.dirty];
    this.dirty.clear();
    if (keys.length === 0) return this.flushing;
    const run = this.flushing.then(async () => {
      const rows = keys.flatMap((k) => {
        const r = this.latest.get(k);
        return r ? [[k, r] as const] : [];
      });
      try {
        await this.store.transaction(async (tx) => {
          for (const [k, r] of rows) await tx.put(T.serviceAccess, k, r);
        });
        for (const [k, r] of rows) this.persisted.set(k, r.at);
      } catch {
        for (const [k] of rows) this.dirty.add(k);
      }
    });
    this.flushing = run;
    return run;
  }

  /** Every recorded attempt of the entities given (stored, then newer ones in memory). */
  async records(entities: readonly AccessEntity[]): Promise<AccessRecord[]> {
    await this.flush();
    const out = new Map<string, AccessRecord>();
    for (const e of entities) {
      const prefix = `${entityKey(e)}\u0000`;
      for (const { key, value } of await this.store.list<AccessRecord>(T.serviceAccess, {
        prefix,
      })) {
        out.set(key, value);
      }
      for (const [key, value] of this.latest) {
        if (key.startsWith(prefix) && (out.get(key)?.at ?? -1) < value.at) out.set(key, value);
      }
    }
    return [...out.values()];
  }

  /** Forgets everything in memory (the store was reset). */
  reset(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.latest.clear();
    this.persisted.clear();
    this.dirty.clear();
  }
}

/**
 * The entity an attempt counts for: a user, the role behind a session, the account root;
 * none for federated users and service principals, which IAM reports nothing about.
 */
export function entityOf(arn: string): AccessEntity | null {
  const m = /^arn:[\w-]+:(iam|sts)::(\d{12}):(.*)$/.exec(arn);
  if (!m) return null;
  const [, service, account, resource] = m as unknown as [string, string, string, string];
  if (service === 'iam' && resource === 'root') return { account, kind: 'root', name: '' };
  if (service === 'iam' && resource.startsWith('user/')) {
    return { account, kind: 'user', name: resource.slice(resource.lastIndexOf('/') + 1) };
  }
  if (service === 'sts' && resource.startsWith('assumed-role/')) {
    return { account, kind: 'role', name: resource.split('/')[1] ?? '' };
  }
  return null;
}
