/**
 * The fuzz harness shared by test/fuzz.test.ts (short, for CI) and bench/fuzz.ts (long):
 * malformed requests for every protocol and data plane Stratus serves, sent over raw
 * sockets (node:net) so that nothing an HTTP client would refuse to send is left out.
 *
 * Each request is a mutation of a valid seed request: structural mutations (body, path,
 * query, headers) are applied before signing, so a request is validly re-signed (SigV4),
 * unsigned, or signed and then corrupted; wire-level mutations (wrong Content-Length,
 * broken chunked framing, truncations, bit flips, header floods, non-Latin-1 header bytes,
 * 64 KB URLs) are applied to the bytes afterwards. Request `i` of seed `s` is always the same
 * bytes (a PRNG seeded from both), so a failure is reproduced from the two numbers alone.
 *
 * What counts as a failure: a 500 (or another 5xx AWS would not answer: 501 for an
 * unimplemented operation is AWS's own), no answer and no close within 10 s (a hang), or a
 * server that is gone.
 */
import { connect, type Socket } from 'node:net';
import { generate, type SignMode, type WireRequest } from './fuzz-mutate.js';
import { GROUPS, type Group, type Seed } from './fuzz-seeds.js';

export { generate, requestRng, type WireRequest } from './fuzz-mutate.js';
export {
  GROUPS,
  prepareTargets,
  seeds,
  type FuzzTargets,
  type Group,
  type Seed,
} from './fuzz-seeds.js';

// ---------------------------------------------------------------------------------------
// Sending

export interface Outcome {
  /** The status of the first answer, or 'closed' (no answer, connection closed), or 'hang'. */
  status: number | 'closed' | 'hang';
  /** The first bytes of the answer (for failure reports). */
  head: string;
  ms: number;
  /** Sent on a connection kept alive from an earlier request. */
  reused: boolean;
}

/** An answer later than this is a hang (generous: a loaded CI machine is slow, not hung). */
export const HANG_MS = 30_000;

/**
 * A connection kept alive between one worker's requests, as SDKs keep theirs: a
 * well-framed request goes on it when the last answer was whole and the server did not
 * say `Connection: close`; anything else gets a fresh connection. It saves the connect
 * and close on both sides, a good part of a small request's cost.
 */
export interface Lane {
  socket?: Socket;
}

/**
 * Sends the bytes and waits for one answer, a close, or HANG_MS: on the lane's kept
 * connection when the request is well framed, on a fresh one otherwise.
 */
export function send(
  port: number,
  w: WireRequest,
  hangMs = HANG_MS,
  lane?: Lane,
): Promise<Outcome> {
  const started = performance.now();
  const kept = lane?.socket;
  if (lane) lane.socket = undefined;
  // Bytes the server sent while the connection sat idle would be taken for this answer.
  const reuse = kept !== undefined && w.framed && !kept.destroyed && kept.readableLength === 0;
  if (kept && !reuse) kept.destroy();
  return new Promise((resolve) => {
    const socket = reuse ? kept : connect({ host: '127.0.0.1', port });
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (status: Outcome['status'], whole = false) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(halfClose);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('data', onData);
      socket.off('connect', onConnect);
      const keep =
        lane !== undefined &&
        whole &&
        w.framed &&
        !w.incomplete &&
        !socket.destroyed &&
        !/\r\nconnection: *close/i.test(
          data.subarray(0, data.indexOf('\r\n\r\n')).toString('latin1'),
        );
      if (keep) {
        socket.pause();
        lane.socket = socket;
      } else socket.destroy();
      resolve({
        status,
        head: data.subarray(0, 600).toString('latin1'),
        ms: performance.now() - started,
        reused: reuse,
      });
    };
    const timer = setTimeout(() => finish('hang'), hangMs);
    // An incomplete request never completes: the client says so by closing its side.
    const halfClose = setTimeout(() => {
      if (w.incomplete && !socket.destroyed) socket.end();
    }, 200);
    const onError = () => finish(parseStatus(data) ?? 'closed');
    const onClose = () => finish(parseStatus(data) ?? 'closed');
    const onData = (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const answer = completeAnswer(data, w.bytes);
      if (answer !== undefined) finish(answer, true);
    };
    const onConnect = () => socket.write(w.bytes);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.on('data', onData);
    if (reuse) {
      socket.resume();
      onConnect();
    } else socket.on('connect', onConnect);
  });
}

function parseStatus(data: Buffer): number | undefined {
  // Skip interim (1xx) answers.
  let at = 0;
  for (;;) {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(data.subarray(at, at + 20).toString('latin1'));
    if (!m) return undefined;
    const status = Number(m[1]);
    if (status >= 200) return status;
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return undefined;
    at = end + 4;
  }
}

/** The status once a whole answer is in (head, and a body framed by its length or chunks). */
function completeAnswer(data: Buffer, request: Buffer): number | undefined {
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return undefined;
    const head = data.subarray(at, end).toString('latin1');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!m) return undefined;
    const status = Number(m[1]);
    if (status < 200) {
      at = end + 4;
      continue;
    }
    const isHead = request.subarray(0, 5).toString('latin1') === 'HEAD ';
    if (isHead || status === 204 || status === 304) return status;
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (cl) return data.length - (end + 4) >= Number(cl[1]) ? status : undefined;
    if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      return data.subarray(end + 4).includes('0\r\n\r\n') &&
        data.subarray(data.length - 5).toString('latin1') === '0\r\n\r\n'
        ? status
        : undefined;
    }
    return undefined; // framed by the close
  }
}

// ---------------------------------------------------------------------------------------
// A run

export interface Failure {
  index: number;
  group: Group;
  seed: string;
  sign: SignMode;
  mutations: string[];
  status: Outcome['status'];
  /** Sent on a kept-alive connection (after another request of the same worker). */
  reused: boolean;
  request: string;
  answer: string;
}

export interface GroupStats {
  sent: number;
  /** Sent on a kept-alive connection. */
  reused: number;
  statuses: Record<string, number>;
  failures: number;
  maxMs: number;
}

export interface RunResult {
  seed: number;
  stats: Record<string, GroupStats>;
  failures: Failure[];
  /** The server went away during the run. */
  serverGone: boolean;
  ms: number;
}

/** Whether an answer is a failure: a hang, or a 5xx AWS would not send. */
export function isFailure(status: Outcome['status']): boolean {
  if (status === 'hang') return true;
  if (status === 'closed') return false;
  return status >= 500 && status !== 501;
}

export interface RunOptions {
  port: number;
  seeds: readonly Seed[];
  seed: number;
  /** Requests per group. */
  perGroup: number;
  groups?: readonly Group[];
  concurrency?: number;
  /** Stops sending once this many ms have passed (the run is bounded in time). */
  deadlineMs?: number;
  /** The request index the run starts at (runs can be split). */
  startIndex?: number;
  /** Checked now and then: false ends the run. */
  alive?: () => boolean;
  onProgress?: (done: number, total: number) => void;
}

/** Prints a request for a failure report: printable ASCII kept, everything else escaped. */
export function printable(bytes: Buffer, max = 2000): string {
  const text = bytes.subarray(0, max).toString('latin1');
  const escaped = text.replace(/[^\x20-\x7e\n]/g, (c) =>
    c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
  return bytes.length > max ? `${escaped}… (${bytes.length} bytes)` : escaped;
}

export async function runFuzz(opts: RunOptions): Promise<RunResult> {
  const groups = opts.groups ?? GROUPS;
  const start = opts.startIndex ?? 0;
  const total = groups.length * opts.perGroup;
  const stats: Record<string, GroupStats> = {};
  for (const g of groups) stats[g] = { sent: 0, reused: 0, statuses: {}, failures: 0, maxMs: 0 };
  const failures: Failure[] = [];
  const began = performance.now();
  let next = 0;
  let serverGone = false;
  const worker = async () => {
    const lane: Lane = {};
    for (;;) {
      const k = next++;
      if (
        k >= total ||
        serverGone ||
        (opts.deadlineMs !== undefined && performance.now() - began > opts.deadlineMs)
      ) {
        lane.socket?.destroy();
        return;
      }
      // Interleave the groups, so that a time-bounded run covers all of them.
      const group = groups[k % groups.length];
      const index = start + k;
      const w = await generate(opts.seeds, group, opts.seed, index);
      const out = await send(opts.port, w, HANG_MS, lane);
      const s = stats[group];
      s.sent++;
      if (out.reused) s.reused++;
      s.statuses[String(out.status)] = (s.statuses[String(out.status)] ?? 0) + 1;
      if (out.status !== 'hang') s.maxMs = Math.max(s.maxMs, out.ms);
      if (isFailure(out.status)) {
        s.failures++;
        if (failures.length < 50) {
          failures.push({
            index,
            group,
            seed: w.seed,
            sign: w.sign,
            mutations: w.mutations,
            status: out.status,
            reused: out.reused,
            request: printable(w.bytes),
            answer: out.head,
          });
        }
      }
      if (k % 200 === 0) {
        if (opts.alive && !opts.alive()) serverGone = true;
        opts.onProgress?.(k, total);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 16 }, worker));
  if (opts.alive && !opts.alive()) serverGone = true;
  return { seed: opts.seed, stats, failures, serverGone, ms: performance.now() - began };
}

/** A failure, reproducible: the seed and index regenerate the same bytes. */
export function describeFailure(seed: number, f: Failure): string {
  return (
    `[${f.group}] ${f.seed} (seed ${seed}, index ${f.index}, ${f.sign}, ${f.mutations.join(' + ')}` +
    `${f.reused ? ', on a kept-alive connection' : ''}): ` +
    `${String(f.status)}\n--- request ---\n${f.request}\n--- answer ---\n${printable(Buffer.from(f.answer, 'latin1'), 600)}`
  );
}
