/**
 * Memory with many functions and warm environments: N functions created, M of them invoked
 * at once (one environment each), then everything idle. Runtime processes are the server's
 * descendants (/proc ppid links); their growth over the baseline divided by the number of
 * new processes is the memory per idle warm environment.
 */
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { createNoop, type LambdaBench } from './lambda-setup.js';
import { descendantMemory, rssKb, type TreeMemory } from './proc-mem.js';

export interface MemoryResult {
  functions: number;
  warm: number;
  serverKb: { before: number; afterCreate: number; afterWarm: number };
  runtimesBefore: TreeMemory;
  runtimesAfter: TreeMemory;
  perEnvironment: { rssKb: number; pssKb?: number };
  /** Wall time of the concurrent cold starts. */
  warmUpMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items` with at most `width` at a time. */
async function pool<T>(items: readonly T[], width: number, fn: (t: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

export async function memoryWithEnvironments(
  b: LambdaBench,
  serverPid: number,
  functions: number,
  warm: number,
  say: (msg: string) => void,
): Promise<MemoryResult> {
  const kb = () => rssKb(serverPid) ?? NaN;
  // Let environments of deleted functions exit first.
  await sleep(1000);
  const runtimesBefore = descendantMemory(serverPid);
  const before = kb();
  say(`memory: creating ${functions} functions`);
  const names = Array.from({ length: functions }, (_, i) => `mem-${String(i).padStart(3, '0')}`);
  // Timeout 30 s: many cold starts at once share a CPU.
  await pool(names, 4, (n) => createNoop(b, n, 'node', { Timeout: 30 }));
  const afterCreate = kb();
  say(`memory: ${warm} concurrent invokes, one per function`);
  const t0 = performance.now();
  await Promise.all(
    names.slice(0, warm).map(async (n) => {
      const out = await b.lambda.send(
        new InvokeCommand({ FunctionName: n, Payload: Buffer.from('{}') }),
      );
      if (out.StatusCode !== 200 || out.FunctionError) throw new Error(`${n} failed`);
    }),
  );
  const warmUpMs = performance.now() - t0;
  // Idle: give the pool refill and the garbage collector a moment.
  await sleep(1500);
  const runtimesAfter = descendantMemory(serverPid);
  const added = runtimesAfter.processes - runtimesBefore.processes;
  const per = (a: number | undefined, z: number | undefined) =>
    a === undefined || z === undefined || added <= 0 ? undefined : (a - z) / added;
  const rssPer = per(runtimesAfter.rssKb, runtimesBefore.rssKb) ?? NaN;
  const pssPer = per(runtimesAfter.pssKb, runtimesBefore.pssKb);
  return {
    functions,
    warm,
    serverKb: { before, afterCreate, afterWarm: kb() },
    runtimesBefore,
    runtimesAfter,
    perEnvironment: { rssKb: rssPer, ...(pssPer !== undefined && { pssKb: pssPer }) },
    warmUpMs,
  };
}
