/**
 * Concurrency: how many invocations run at once, per region of an account, as AWS counts
 * them. https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
 *  - A function with reserved concurrency R runs at most R at once ("0 throttles every
 *    call"); over it: Reason ReservedFunctionConcurrentInvocationLimitExceeded.
 *  - Functions without a reservation share the unreserved pool, the account limit minus
 *    every reservation in the region; over it: Reason ConcurrentInvocationLimitExceeded.
 * In-flight means being executed: synchronous calls and async events alike (a queued event
 * counts only while it runs).
 */
import { TooManyRequestsException } from '../../../api/lambda/errors.js';
import type { ThrottleReason } from '../../../api/lambda/types.js';

export type ConcurrencyReason = Extract<
  ThrottleReason,
  'ReservedFunctionConcurrentInvocationLimitExceeded' | 'ConcurrentInvocationLimitExceeded'
>;

/** AWS's throttle error: `{"Reason": …, "Type": "User", "message": "Rate Exceeded."}`. */
export function throttled(reason: ConcurrencyReason): TooManyRequestsException {
  return new TooManyRequestsException('Rate Exceeded.', { Reason: reason, Type: 'User' });
}

/** Returned by acquire(); release it exactly once when the invocation is over. */
export interface Lease {
  release(): void;
}

export class ConcurrencyGate {
  /** `<account>:<region>:<function>` → invocations of the function in flight. */
  private readonly perFunction = new Map<string, number>();
  /** `<account>:<region>` → in-flight invocations drawing on the unreserved pool. */
  private readonly unreserved = new Map<string, number>();

  constructor(private readonly accountLimit: number) {}

  /**
   * Takes a slot or says why not. `reserved` is the function's reservation (undefined:
   * the unreserved pool); `reservedTotal` the sum of reservations in the region.
   */
  acquire(
    scopeKey: string,
    functionKey: string,
    reserved: number | undefined,
    reservedTotal: number,
  ): Lease | ConcurrencyReason {
    const running = this.perFunction.get(functionKey) ?? 0;
    if (reserved !== undefined) {
      if (running >= reserved) return 'ReservedFunctionConcurrentInvocationLimitExceeded';
      this.perFunction.set(functionKey, running + 1);
      return new Slot(this, functionKey, undefined);
    }
    const pool = this.unreserved.get(scopeKey) ?? 0;
    if (pool >= this.accountLimit - reservedTotal) return 'ConcurrentInvocationLimitExceeded';
    this.unreserved.set(scopeKey, pool + 1);
    this.perFunction.set(functionKey, running + 1);
    return new Slot(this, functionKey, scopeKey);
  }

  /** Invocations of a function in flight (tests, metrics). */
  running(functionKey: string): number {
    return this.perFunction.get(functionKey) ?? 0;
  }

  /** @internal */
  free(functionKey: string, scopeKey: string | undefined): void {
    decrement(this.perFunction, functionKey);
    if (scopeKey !== undefined) decrement(this.unreserved, scopeKey);
  }
}

class Slot implements Lease {
  private released = false;

  constructor(
    private readonly gate: ConcurrencyGate,
    private readonly functionKey: string,
    /** Set when the slot came from the unreserved pool. */
    private readonly scopeKey: string | undefined,
  ) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.gate.free(this.functionKey, this.scopeKey);
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
