/**
 * Whether a failed attempt is retried: retryStrategy's `evaluateOnExit` conditions, as
 * https://docs.aws.amazon.com/batch/latest/APIReference/API_EvaluateOnExit.html says:
 *  - each condition's onExitCode, onReason and onStatusReason must all match (an absent
 *    one matches anything); patterns match the whole value and may end with `*`;
 *  - the first condition that matches decides (RETRY or EXIT);
 *  - "If none of the EvaluateOnExit conditions in a RetryStrategy match, then the job is
 *    retried."
 * and only while attempts remain (`attempts`, 1 to 10, default 1).
 */
import type { EvaluateOnExit, RetryStrategy } from '../../api/batch/types.js';

export interface AttemptOutcome {
  exitCode?: number;
  /** The container's reason (e.g. `OutOfMemoryError: Container killed due to memory usage`). */
  reason?: string;
  /** The attempt's statusReason (e.g. `Essential container in task exited`). */
  statusReason?: string;
}

/** A pattern: the whole value, or a prefix when it ends with `*` (case-sensitive). */
export function globMatches(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return pattern === '*';
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

export function conditionMatches(c: EvaluateOnExit, outcome: AttemptOutcome): boolean {
  const code = outcome.exitCode === undefined ? undefined : String(outcome.exitCode);
  return (
    (c.onExitCode === undefined || globMatches(c.onExitCode, code)) &&
    (c.onReason === undefined || globMatches(c.onReason, outcome.reason)) &&
    (c.onStatusReason === undefined || globMatches(c.onStatusReason, outcome.statusReason))
  );
}

/** Whether another attempt follows `attemptsMade` failed ones. */
export function shouldRetry(
  strategy: RetryStrategy | undefined,
  attemptsMade: number,
  outcome: AttemptOutcome,
): boolean {
  if (attemptsMade >= (strategy?.attempts ?? 1)) return false;
  for (const c of strategy?.evaluateOnExit ?? []) {
    if (conditionMatches(c, outcome)) return c.action.toUpperCase() === 'RETRY';
  }
  return true;
}
