/**
 * How many operations each modelled service has, for GET /. Counted in a worker thread that
 * then exits: the shape tables of services Stratus does not implement (EC2's alone is over a
 * megabyte) are read once and never stay in the server's memory.
 */
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { modelLoaders } from '../api/services.js';

let counted: Promise<Map<string, number>> | undefined;

/** Operation count per service name; computed once per process. */
export function modelledOperationCounts(): Promise<Map<string, number>> {
  counted ??= new Promise<Map<string, number>>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url));
    worker.once('message', (counts: [string, number][]) => resolve(new Map(counts)));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`operation counter exited with ${code}`)));
  }).catch((err: unknown) => {
    counted = undefined;
    throw err;
  });
  return counted;
}

async function count(): Promise<[string, number][]> {
  const counts: [string, number][] = [];
  for (const [name, load] of Object.entries(modelLoaders)) {
    counts.push([name, Object.keys((await load()).operations).length]);
  }
  return counts;
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  void count().then((counts) => port.postMessage(counts));
}
