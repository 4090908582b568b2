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
import { BoundedMap } from '../../shared/bounded-map.js';

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

/** One entity's newest attempts, by action. */
interface EntityState {
  entity: AccessEntity;
  prefix: string;
  actions: Map<string, AccessRecord>;
}

export class ServiceAccessTracker implements AccessRecorder {
  /** Every entity seen, by its key (`<account>/<kind>/<name>`). */
  private readonly states = new BoundedMap<string, EntityState>(10_000);
  private readonly persisted = new BoundedMap<string, number>(100_000);
  /** Store keys (`<entity key>\u0000<action>`) waiting for the next flush. */
  private readonly dirty = new Map<string, AccessRecord>();
  /** The entity of each principal object seen (principals are cached per credential). */
  private readonly byPrincipal = new WeakMap<Principal, EntityState | null>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** A map look-up and a clock read for a repeated attempt within the same second. */
  attempted(principal: Principal, action: string, region: string): void {
    let state = this.byPrincipal.get(principal);
    if (state === undefined) {
      state = this.stateOf(principal.arn);
      this.byPrincipal.set(principal, state);
    }
    if (!state) return;
    const at = this.now();
    const known = state.actions.get(action);
    if (known && at - known.at < RESOLUTION_MS) return;
    const record = { entity: state.entity, action, region, at: at - (at % RESOLUTION_MS) };
    state.actions.set(action, record);
    const key = state.prefix + action;
    if (at - (this.persisted.get(key) ?? -Infinity) < PERSIST_MS) return;
    this.dirty.set(key, record);
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_DELAY_MS).unref();
  }

  private stateOf(arn: string): EntityState | null {
    const entity = entityOf(arn);
    if (!entity) return null;
    const id = entityKey(entity);
    let state = this.states.get(id);
    if (!state) {
      state = { entity, prefix: `${id}\u0000`, actions: new Map() };
      // Any access key id names an account in permissive mode: bounded (what is dropped
      // is only what the store has not caught up with, PERSIST_MS at most).
      this.states.set(id, state);
    }
    return state;
  }

  /** Writes what is pending in one transaction. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const rows = [...this.dirty];
    this.dirty.clear();
    if (rows.length === 0) return this.flushing;
    const run = this.flushing.then(async () => {
      try {
        await this.store.transaction(async (tx) => {
          for (const [k, r] of rows) await tx.put(T.serviceAccess, k, r);
        });
        for (const [k, r] of rows) this.persisted.set(k, r.at);
      } catch {
        for (const [k, r] of rows) if (!this.dirty.has(k)) this.dirty.set(k, r);
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
      for (const value of this.states.get(entityKey(e))?.actions.values() ?? []) {
        const key = prefix + value.action;
        if ((out.get(key)?.at ?? -1) < value.at) out.set(key, value);
      }
    }
    return [...out.values()];
  }

  /** Forgets everything in memory (the store was reset). */
  reset(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.states.clear();
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
