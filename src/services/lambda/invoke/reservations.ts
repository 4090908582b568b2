/**
 * The sum of reserved concurrency per region of an account, which sizes the unreserved
 * pool. Read from the function rows once, then kept until a function of that region
 * changes (PutFunctionConcurrency, DeleteFunction, … all announce a change).
 */
import type { MetadataStore } from '../../../storage/types.js';
import type { Scope } from '../arns.js';
import { T, scopePrefix, type FunctionRecord } from '../store.js';

export class ReservationTotals {
  private readonly totals = new Map<string, number>();
  /** Bumped by every change: a total read before it is not kept. */
  private epoch = 0;

  constructor(private readonly store: MetadataStore) {}

  /** The cached total, or undefined when it must be read (see load). */
  peek(scopeKey: string): number | undefined {
    return this.totals.get(scopeKey);
  }

  async load(scope: Scope): Promise<number> {
    const prefix = scopePrefix(scope);
    const epoch = this.epoch;
    let total = 0;
    for (const { value } of await this.store.list<FunctionRecord>(T.functions, { prefix })) {
      total += value.reservedConcurrency ?? 0;
    }
    if (epoch === this.epoch) this.totals.set(prefix, total);
    return total;
  }

  /** A function of the scope changed: its reservation may have. */
  forget(scope: Scope): void {
    this.epoch++;
    this.totals.delete(scopePrefix(scope));
  }

  clear(): void {
    this.epoch++;
    this.totals.clear();
  }
}

/** The key ReservationTotals and the ConcurrencyGate use for a region of an account. */
export const scopeKeyOf = (scope: Scope): string => scopePrefix(scope);
