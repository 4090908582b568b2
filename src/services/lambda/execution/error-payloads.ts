/**
 * The error JSON Lambda itself returns to the caller (X-Amz-Function-Error: Unhandled) when
 * the function could not answer. Formats as AWS returns them today:
 *   {"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id> Error: Task timed out after 3.00 seconds"}
 *   {"errorType":"Runtime.ExitError","errorMessage":"RequestId: <id> Error: Runtime exited with error: exit status 1"}
 *   {"errorType":"Runtime.OutOfMemory","errorMessage":"RequestId: <id> Error: Runtime exited with error: signal: killed"}
 *     (the memory limit was hit; older reports said Runtime.ExitError with the same message)
 *   {"errorMessage":"Response payload size (N bytes) exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}
 */
import type { ExitStatus } from '../../../runtime/types.js';

function payload(errorType: string, errorMessage: string): Buffer {
  return Buffer.from(JSON.stringify({ errorType, errorMessage }));
}

export function timeoutMessage(timeoutSeconds: number): string {
  return `Task timed out after ${timeoutSeconds.toFixed(2)} seconds`;
}

export function timeoutPayload(requestId: string, timeoutSeconds: number): Buffer {
  return payload(
    'Sandbox.Timedout',
    `RequestId: ${requestId} Error: ${timeoutMessage(timeoutSeconds)}`,
  );
}

/** Go's os.ProcessState wording, which AWS's messages carry. */
const SIGNAL_WORDS: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGSEGV: 'segmentation fault',
  SIGABRT: 'aborted',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGILL: 'illegal instruction',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGPIPE: 'broken pipe',
  SIGQUIT: 'quit',
  SIGTRAP: 'trace/breakpoint trap',
  SIGUSR1: 'user defined signal 1',
  SIGUSR2: 'user defined signal 2',
};

export function exitDescription(status: ExitStatus): string {
  if (status.signal) return `signal: ${SIGNAL_WORDS[status.signal] ?? status.signal}`;
  return `exit status ${status.code ?? 0}`;
}

export function exitErrorMessage(requestId: string, status: ExitStatus): string {
  return `RequestId: ${requestId} Error: Runtime exited with error: ${exitDescription(status)}`;
}

/** Runtime.OutOfMemory when the cgroup's OOM killer ended the runtime, else Runtime.ExitError. */
export function exitErrorType(status: ExitStatus): string {
  return status.oomKilled ? 'Runtime.OutOfMemory' : 'Runtime.ExitError';
}

export function exitPayload(requestId: string, status: ExitStatus): Buffer {
  return payload(exitErrorType(status), exitErrorMessage(requestId, status));
}

export function tooLargePayload(size: number, limit: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${limit} bytes).`,
      errorType: 'Function.ResponseSizeTooLarge',
    }),
  );
}

/** Errors found before a runtime could start (no bootstrap, not executable). */
export function launchErrorPayload(requestId: string, errorType: string, message: string): Buffer {
  return payload(errorType, `RequestId: ${requestId} ${message}`);
}

/** The errorType of a runtime's error JSON (for REPORT's "Error Type"), cheaply. */
export function errorTypeOf(body: Buffer, fallback: string | undefined): string | undefined {
  if (fallback) return fallback;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'errorType' in parsed) {
      const t = (parsed as { errorType: unknown }).errorType;
      if (typeof t === 'string') return t;
    }
  } catch {
    // not JSON: no type
  }
  return undefined;
}
