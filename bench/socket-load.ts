/**
 * Fallback load generator when wrk is not installed: N keep-alive connections, each
 * sending the same request bytes again as soon as the previous answer is complete.
 * It runs in the benchmark's own process (one core of Node), so it saturates earlier than
 * wrk; its figures are a lower bound. Answers carry a content-length or come chunked.
 */
import { connect, type Socket } from 'node:net';
import { wireBytes, type SignedCall } from './calls.js';
import { quantile, type LoadResult, type LoadRun } from './load-result.js';

const HEADER_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * Bytes of one complete answer at the start of `buf`, its status, or undefined if partial.
 * Framed by content-length or by chunked transfer encoding (a function URL's answer).
 */
export function completeAnswer(buf: Buffer): { length: number; status: number } | undefined {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return undefined;
  const head = buf.toString('latin1', 0, end).toLowerCase();
  const status = Number(head.slice(9, 12));
  const at = head.indexOf('\r\ncontent-length:');
  if (at < 0) {
    if (!/\r\ntransfer-encoding:\s*chunked/.test(head)) {
      throw new Error('answer with neither content-length nor chunked encoding: cannot frame it');
    }
    const length = chunkedEnd(buf, end + 4);
    return length === undefined ? undefined : { length, status };
  }
  const length = parseInt(head.slice(at + 17), 10);
  const total = end + 4 + length;
  return buf.length >= total ? { length: total, status } : undefined;
}

/** Where a chunked body starting at `from` ends (after its last chunk and trailers). */
function chunkedEnd(buf: Buffer, from: number): number | undefined {
  let at = from;
  for (;;) {
    const eol = buf.indexOf(CRLF, at);
    if (eol < 0) return undefined;
    const size = parseInt(buf.toString('latin1', at, eol), 16);
    if (Number.isNaN(size)) throw new Error('malformed chunk size');
    if (size === 0) {
      // "0\r\n", any trailers, then an empty line: the first CRLF CRLF from the size's end.
      const close = buf.indexOf(HEADER_END, eol);
      return close < 0 ? undefined : close + 4;
    }
    at = eol + 2 + size + 2;
    if (buf.length < at) return undefined;
  }
}

export async function socketLoad(
  call: SignedCall,
  run: LoadRun,
  warmupS: number,
): Promise<LoadResult> {
  const url = new URL(run.url);
  const bytes = wireBytes(call);
  const start = performance.now();
  const recordFrom = start + warmupS * 1000;
  const stopAt = recordFrom + run.durationS * 1000;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;

  const one = () =>
    new Promise<void>((resolve) => {
      const socket: Socket = connect(Number(url.port), url.hostname);
      socket.setNoDelay(true);
      let pending: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const send = () => {
        sentAt = performance.now();
        socket.write(bytes);
      };
      socket.once('connect', send);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const answer = completeAnswer(pending);
        if (!answer) return;
        pending = pending.subarray(answer.length);
        const now = performance.now();
        if (now >= recordFrom) {
          latencies.push(now - sentAt);
          if (answer.status >= 400) non2xx++;
        }
        if (now < stopAt) send();
        else socket.end();
      });
      socket.on('error', () => {
        errors++;
        resolve();
      });
      socket.on('close', () => resolve());
    });

  await Promise.all(Array.from({ length: run.concurrency }, one));
  const measuredS = (performance.now() - recordFrom) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / measuredS,
    requests: latencies.length,
    seconds: measuredS,
    p50Ms: quantile(latencies, 0.5),
    p90Ms: quantile(latencies, 0.9),
    p99Ms: quantile(latencies, 0.99),
    non2xx,
    errors,
  };
}
