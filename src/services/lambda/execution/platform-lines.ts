/**
 * What an execution environment writes about an invocation besides the function's own
 * output: the platform lines of its log stream (INIT_START, START, END, REPORT, ...), the
 * records of the matching telemetry platform events, the `LogType: Tail` cut and the
 * X-Ray trace header.
 * https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html
 */
import { randomUUID } from 'node:crypto';
import type { FunctionVersionSpec } from './types.js';

/** `LogType: Tail` returns the last 4 KB of the invocation's log. */
const TAIL_BYTES = 4096;

/** The Status (and Error Type) a REPORT line carries when an invocation did not succeed. */
export interface ReportStatus {
  status: 'timeout' | 'error';
  errorType?: string;
}

/** The figures of one invocation's REPORT line and platform.report event. */
export interface ReportFigures {
  requestId: string;
  durationMs: number;
  initDurationMs: number | undefined;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  status: ReportStatus | undefined;
}

export function round2(ms: number): number {
  return Math.round(ms * 100) / 100;
}

/** Billed Duration: the invocation's duration plus its INIT, rounded up to a millisecond. */
export function billedDurationMs(durationMs: number, initDurationMs: number | undefined): number {
  return Math.max(1, Math.ceil(durationMs + (initDurationMs ?? 0)));
}

export function startLine(requestId: string, version: string): string {
  return `START RequestId: ${requestId} Version: ${version}`;
}

/** An error line the platform writes: the message, then the error type on its own line. */
export function errorLine(message: string, errorType: string): string {
  return `${message}\n${errorType}`;
}

/** INIT_REPORT of an INIT that failed (the invocation it failed never started). */
export function initReportLine(initDurationMs: number, status: ReportStatus | undefined): string {
  let line = `INIT_REPORT Init Duration: ${initDurationMs.toFixed(2)} ms\tPhase: init`;
  if (status !== undefined) line += `\tStatus: ${status.status}`;
  if (status?.errorType !== undefined) line += `\tError Type: ${status.errorType}`;
  return line;
}

export function reportLine(r: ReportFigures): string {
  const billed = billedDurationMs(r.durationMs, r.initDurationMs);
  let line = `REPORT RequestId: ${r.requestId}\tDuration: ${r.durationMs.toFixed(2)} ms\tBilled Duration: ${billed} ms\tMemory Size: ${r.memorySizeMb} MB\tMax Memory Used: ${r.maxMemoryUsedMb} MB`;
  if (r.initDurationMs !== undefined) line += `\tInit Duration: ${r.initDurationMs.toFixed(2)} ms`;
  if (r.status !== undefined) {
    line += `\tStatus: ${r.status.status}`;
    if (r.status.errorType !== undefined) line += `\tError Type: ${r.status.errorType}`;
  }
  return line;
}

/** The record of the platform.report telemetry event. */
export function reportRecord(r: ReportFigures): Record<string, unknown> {
  const metrics: Record<string, number> = {
    durationMs: round2(r.durationMs),
    billedDurationMs: billedDurationMs(r.durationMs, r.initDurationMs),
    memorySizeMB: r.memorySizeMb,
    maxMemoryUsedMB: r.maxMemoryUsedMb,
  };
  if (r.initDurationMs !== undefined) metrics.initDurationMs = round2(r.initDurationMs);
  return {
    requestId: r.requestId,
    status: r.status?.status ?? 'success',
    ...(r.status?.errorType !== undefined && { errorType: r.status.errorType }),
    metrics,
  };
}

export function initStartLine(runtime: string): string {
  return `INIT_START Runtime Version: ${runtime}:stratus`;
}

/** The X-Ray header as platform.start and the extensions' INVOKE event carry it. */
export function tracing(traceId: string): { type: 'X-Amzn-Trace-Id'; value: string } {
  return { type: 'X-Amzn-Trace-Id', value: traceId };
}

export function initStartRecord(
  fn: FunctionVersionSpec,
  initializationType: string,
): Record<string, unknown> {
  return {
    initializationType,
    phase: 'init',
    runtimeVersion: fn.runtime,
    runtimeVersionArn: `arn:aws:lambda:${fn.region}::runtime:stratus-${fn.runtime}`,
    functionName: fn.functionName,
    functionVersion: fn.version,
  };
}

/** The records of platform.initRuntimeDone and platform.initReport of an INIT that succeeded. */
export function initDoneRecords(
  initializationType: string,
  initDurationMs: number,
): { runtimeDone: Record<string, unknown>; report: Record<string, unknown> } {
  const phase = { initializationType, phase: 'init', status: 'success' };
  return {
    runtimeDone: phase,
    report: { ...phase, metrics: { durationMs: round2(initDurationMs) } },
  };
}

/** The record of platform.runtimeDone: the runtime's answer (or its failure). */
export function runtimeDoneRecord(
  requestId: string,
  succeeded: boolean,
  status: ReportStatus | undefined,
  durationMs: number,
  producedBytes: number,
): Record<string, unknown> {
  return {
    requestId,
    status: status?.status ?? (succeeded ? 'success' : 'error'),
    ...(status?.errorType !== undefined && { errorType: status.errorType }),
    metrics: { durationMs: round2(durationMs), producedBytes },
  };
}

/** A line an extension's failure adds to the function's log. */
export function extensionExitLine(name: string, errorType: string): string {
  return `EXTENSION\tName: ${name}\tState: ExitError\tError Type: ${errorType}`;
}

/** The last 4 KB of an invocation's log text, cut at a character boundary. */
export function tail(lines: string[]): string {
  const text = lines.join('\n') + '\n';
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= TAIL_BYTES) return text;
  let start = buf.length - TAIL_BYTES;
  while (start < buf.length && (buf[start] & 0xc0) === 0x80) start++;
  return buf.toString('utf8', start);
}

/** An X-Ray trace header like the ones Lambda hands every invocation. */
export function newTraceId(): string {
  const u = randomUUID();
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  const root = u.slice(0, 8) + u.slice(9, 13) + u.slice(14, 18) + u.slice(19, 23) + u.slice(24, 28);
  return `Root=1-${epoch}-${root};Parent=${u.slice(28, 36)}${u.slice(0, 8)};Sampled=0;Lineage=1:${u.slice(0, 8)}:0`;
}
