/**
 * What an invocation of an execution environment (environment.ts) ends with, for each way
 * it can end (answer, error, timeout, exit, failed launch): the outcome kind, the payload
 * the caller gets (error-payloads.ts) and the REPORT status; then the InvokeOutcome. The
 * environment's state machine decides when an invocation ends; this module, with what.
 */
import type { ExitStatus } from '../../../runtime/types.js';
import {
  errorTypeOf,
  exitErrorType,
  exitPayload,
  launchErrorPayload,
  timeoutPayload,
  tooLargePayload,
} from './error-payloads.js';
import * as platform from './platform-lines.js';
import { type InvocationResult, MAX_RESPONSE_BYTES } from './runtime-api.js';
import type { LaunchError } from './runtimes.js';
import type { InvokeOutcome, InvokeOutcomeKind } from './types.js';

/** How an invocation ended (the environment's finish → complete). */
export interface Ending {
  kind: InvokeOutcomeKind;
  payload: Buffer;
  durationMs: number;
  /** Undefined on success. */
  report: platform.ReportStatus | undefined;
}

/** The runtime answered: a response, an error, or a response over the size limit. */
export function resultEnding(result: InvocationResult, durationMs: number): Ending {
  switch (result.kind) {
    case 'response':
      return { kind: 'success', payload: result.body, durationMs, report: undefined };
    case 'error':
      return {
        kind: 'function-error',
        payload: result.body,
        durationMs,
        report: { status: 'error', errorType: errorTypeOf(result.body, result.errorType) },
      };
    case 'too-large':
      return {
        kind: 'function-error',
        payload: tooLargePayload(result.size, MAX_RESPONSE_BYTES),
        durationMs,
        report: { status: 'error', errorType: 'Function.ResponseSizeTooLarge' },
      };
    default: {
      const never: never = result;
      throw new Error(`unknown result ${String(never)}`);
    }
  }
}

/** The runtime (or an extension) reported an init error: its body goes to the caller. */
export function initErrorEnding(
  body: Buffer,
  errorType: string | undefined,
  durationMs: number,
): Ending {
  return {
    kind: 'init-error',
    payload: body,
    durationMs,
    report: { status: 'error', errorType: errorTypeOf(body, errorType) },
  };
}

/** The runtime could not be started (no bootstrap, not executable, ...): INIT failed. */
export function launchErrorEnding(requestId: string, e: LaunchError): Ending {
  return {
    kind: 'init-error',
    payload: launchErrorPayload(requestId, e.errorType, e.message),
    durationMs: 0,
    report: { status: 'error', errorType: e.errorType },
  };
}

/** The invocation, or the INIT it waited for, timed out. */
export function timeoutEnding(
  requestId: string,
  timeoutSeconds: number,
  durationMs: number,
): Ending {
  return {
    kind: 'timeout',
    payload: timeoutPayload(requestId, timeoutSeconds),
    durationMs,
    report: { status: 'timeout' },
  };
}

/** The runtime exited without answering: during INIT, or during the invocation. */
export function exitEnding(
  requestId: string,
  status: ExitStatus,
  initializing: boolean,
  durationMs: number,
): Ending {
  return {
    kind: initializing ? 'init-error' : 'runtime-exit',
    payload: exitPayload(requestId, status),
    durationMs,
    report: { status: 'error', errorType: exitErrorType(status) },
  };
}

/** What the caller of invoke() gets; `tail` holds the log lines kept for `LogType: Tail`. */
export function invokeOutcome(
  { kind, payload, durationMs }: Ending,
  initDurationMs: number | undefined,
  maxMemoryUsedMb: number,
  tail: string[] | null,
): InvokeOutcome {
  const outcome: InvokeOutcome = {
    kind,
    payload,
    durationMs,
    billedDurationMs: platform.billedDurationMs(durationMs, initDurationMs),
    maxMemoryUsedMb,
  };
  if (initDurationMs !== undefined) outcome.initDurationMs = initDurationMs;
  if (tail !== null) outcome.logTail = platform.tail(tail);
  return outcome;
}
