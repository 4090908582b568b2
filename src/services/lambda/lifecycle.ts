/**
 * The asynchronous half of function changes, as AWS has it: a new function or version is
 * `Pending` until its environment can be prepared, and an update is `InProgress` until it
 * is applied; clients (and the SDK waiters functionActiveV2 / functionUpdatedV2) poll
 * GetFunction until `Active` / `Successful`.
 * https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
 *
 * Stratus extracts and checks the package before it answers, so what remains is the flip
 * itself: one transaction scheduled right after the change committed. A crash in between
 * leaves the rows Pending / InProgress, and recover() finishes them on the next start.
 *
 * Every committed change is also announced here: the invoke path drops cached
 * resolutions and retires execution environments of that function.
 */
import { randomUUID } from 'node:crypto';
import type { MetadataStore } from '../../storage/types.js';
import type { Scope } from './arns.js';
import { childPrefix, functionKey, T, type VersionRecord } from './store.js';

export interface FunctionChange {
  kind: 'updated' | 'deleted';
  account: string;
  region: string;
  functionName: string;
}

export type ChangeListener = (change: FunctionChange) => void;

/**
 * Readies what a runtime needs before its functions may go Active (in containers: the
 * runtime image, built when missing). Rejects with the reason the function is `Failed`.
 */
export type RuntimePreparer = (runtime: string) => Promise<void>;

export class Lifecycle {
  private readonly settling = new Map<string, Promise<void>>();
  private readonly listeners = new Set<ChangeListener>();

  /** Set when environments need preparing per runtime (container drivers). */
  prepare: RuntimePreparer | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(kind: FunctionChange['kind'], scope: Scope, functionName: string): void {
    const change = { kind, account: scope.account, region: scope.region, functionName };
    for (const l of this.listeners) {
      try {
        l(change);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  /** Schedules the Pending → Active and InProgress → Successful flips of a function. */
  settle(scope: Scope, functionName: string): void {
    const key = functionKey(scope, functionName);
    const previous = this.settling.get(key) ?? Promise.resolve();
    const next = previous
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.prepareRuntimes(key))
      .then((failures) => this.flip(key, failures))
      .then((flipped) => {
        if (flipped) this.changed('updated', scope, functionName);
      })
      .catch(this.onError)
      .finally(() => {
        if (this.settling.get(key) === next) this.settling.delete(key);
      });
    this.settling.set(key, next);
  }

  /** Resolves once scheduled flips of the function are done (at once when none are). */
  settled(scope: Scope, functionName: string): Promise<void> | undefined {
    return this.settling.get(functionKey(scope, functionName));
  }

  /** Runs the preparer for the runtimes of the function's pending versions; their failures. */
  private async prepareRuntimes(key: string): Promise<Map<string, string>> {
    const failures = new Map<string, string>();
    const prepare = this.prepare;
    if (prepare === undefined) return failures;
    const runtimes = new Set<string>();
    for (const { value: v } of await this.store.list<VersionRecord>(T.versions, {
      prefix: childPrefix(key),
    })) {
      if ((v.state === 'Pending' || v.lastUpdateStatus === 'InProgress') && v.runtime) {
        runtimes.add(v.runtime);
      }
    }
    await Promise.all(
      [...runtimes].map((runtime) =>
        prepare(runtime).catch((err: unknown) => {
          failures.set(runtime, err instanceof Error ? err.message : String(err));
        }),
      ),
    );
    return failures;
  }

  private flip(key: string, failures: Map<string, string>): Promise<boolean> {
    return this.store.transaction(async (tx) => {
      let flipped = false;
      for (const { key: vKey, value: v } of await tx.list<VersionRecord>(T.versions, {
        prefix: childPrefix(key),
      })) {
        if (v.state !== 'Pending' && v.lastUpdateStatus !== 'InProgress') continue;
        const failure = v.runtime ? failures.get(v.runtime) : undefined;
        if (failure !== undefined) {
          const reason = `The runtime image for ${v.runtime} could not be prepared: ${failure}`;
          if (v.state === 'Pending') {
            v.state = 'Failed';
            v.stateReason = reason;
            v.stateReasonCode = 'InternalError';
            if (v.version === '$LATEST' && !v.lastUpdateStatus) v.lastUpdateStatus = 'Failed';
          }
          if (v.lastUpdateStatus === 'InProgress') {
            v.lastUpdateStatus = 'Failed';
            v.lastUpdateStatusReason = reason;
            v.lastUpdateStatusReasonCode = 'InternalError';
          }
          v.revisionId = randomUUID();
          await tx.put(T.versions, vKey, v);
          flipped = true;
          continue;
        }
        if (v.state === 'Pending') {
          v.state = 'Active';
          delete v.stateReason;
          delete v.stateReasonCode;
          // A new function's $LATEST shows its first update as done once it is Active.
          if (v.version === '$LATEST' && !v.lastUpdateStatus) v.lastUpdateStatus = 'Successful';
        }
        if (v.lastUpdateStatus === 'InProgress') {
          v.lastUpdateStatus = 'Successful';
          delete v.lastUpdateStatusReason;
          delete v.lastUpdateStatusReasonCode;
        }
        v.revisionId = randomUUID();
        await tx.put(T.versions, vKey, v);
        flipped = true;
      }
      return flipped;
    });
  }

  /** Finishes flips a crash interrupted (called once at start). */
  async recover(): Promise<void> {
    const owners = new Set<string>();
    for (const { key, value } of await this.store.list<VersionRecord>(T.versions)) {
      if (value.state === 'Pending' || value.lastUpdateStatus === 'InProgress') {
        owners.add(key.slice(0, key.lastIndexOf(':')));
      }
    }
    for (const fnKey of owners) {
      const [account, region, ...rest] = fnKey.split(':');
      this.settle({ account, region }, rest.join(':'));
    }
    await Promise.all([...this.settling.values()]);
  }
}
