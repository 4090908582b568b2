/**
 * Lambda on runc beside the process driver, in one run (issue 9, "Speed"): the same warm
 * invoke load (wrk, 10 connections) and the same cold starts (pre-started pool, and a
 * runtime of its own) against a server with `--driver process` and then one with
 * `--driver runc`, with the bare interpreter start as the reference. Targets: runc's
 * pooled cold start p50 below the bare interpreter start; runc's warm throughput at least
 * 80% of the process driver's.
 *
 *   npm run build && node dist/bench/lambda-runc.js [--duration 5] [--cold-samples 10]
 *
 * Needs root and runc. The runtime images (nodejs20.x, python3.12 → python 3.13) are built
 * on first use into the builder cache (STRATUS_IMAGE_CACHE, default ~/.cache/stratus/images);
 * the server's first cold start of each runtime waits for that, before any timing.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runBench, killAllNow } from './children.js';
import { coldStarts, type ColdResult } from './lambda-cold.js';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { createNoop, deleteFunction, setUp } from './lambda-setup.js';
import { warmInvokes } from './lambda-warm.js';
import { startStratus } from './stratus-process.js';
import { findWrk } from './wrk.js';

function say(msg: string): void {
  process.stderr.write(`[lambda-runc] ${msg}\n`);
}

interface DriverRun {
  driver: 'process' | 'runc';
  warmRps: number;
  warmP50Ms: number;
  cold: ColdResult;
}

async function runDriver(
  driver: DriverRun['driver'],
  durationS: number,
  coldSamples: number,
): Promise<DriverRun> {
  say(`starting Stratus --driver ${driver}`);
  const stratus = await startStratus({ auth: 'permissive', driver });
  const b = await setUp(stratus.endpoint);
  try {
    // Untimed: with runc the first function of a runtime waits for its image (built or
    // taken from the builder cache, pushed) and its first start unpacks the layers.
    for (const family of ['node', 'python'] as const) {
      say(`priming ${family}`);
      await createNoop(b, `prime-${family}`, family);
      const out = await b.lambda.send(
        new InvokeCommand({ FunctionName: `prime-${family}`, Payload: Buffer.from('{}') }),
      );
      if (out.FunctionError) throw new Error(`prime-${family}: ${out.FunctionError}`);
      await deleteFunction(b, `prime-${family}`);
    }
    const warm = await warmInvokes(
      stratus,
      b,
      { wrk: findWrk(), durationS, warmupS: 1 },
      [10],
      0,
      say,
    );
    const c10 = warm.result.http[0].stratus;
    const cold = await coldStarts(b, coldSamples, 400, say);
    return { driver, warmRps: c10.rps, warmP50Ms: c10.p50Ms, cold };
  } catch (err) {
    say(`server output: ${stratus.output().slice(-2000)}`);
    throw err;
  } finally {
    b.destroy();
    await stratus.stop();
  }
}

function report(runs: DriverRun[]): string {
  const [proc, runc] = runs;
  const lines = [`Lambda on runc vs the process driver (${new Date().toISOString()})`, ''];
  lines.push('warm invoke, wrk 10 connections:');
  for (const r of runs)
    lines.push(
      `  ${r.driver.padEnd(8)} ${r.warmRps.toFixed(0).padStart(6)} req/s  p50 ${r.warmP50Ms.toFixed(2)} ms`,
    );
  lines.push(`  runc / process: ${(runc.warmRps / proc.warmRps).toFixed(2)}× (target ≥ 0.80)`, '');
  lines.push('cold start p50, client side (Invoke → answer), against the bare interpreter start:');
  for (const r of runs) {
    for (const row of r.cold.rows) {
      const bare = r.cold.bare[row.family].p50Ms;
      lines.push(
        `  ${r.driver.padEnd(8)} ${row.family.padEnd(7)} ${row.kind.padEnd(12)} ${row.client.p50Ms.toFixed(1).padStart(7)} ms` +
          `  init ${row.initDuration ? row.initDuration.p50Ms.toFixed(1) : '-'} ms` +
          `  bare ${bare.toFixed(1)} ms  ratio ${(row.client.p50Ms / bare).toFixed(2)}×`,
      );
    }
  }
  lines.push('', `load average after: ${loadavg()[0].toFixed(2)}`, '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      'cold-samples': { type: 'string', default: '10' },
    },
    strict: true,
  });
  const durationS = Number(values.duration);
  const coldSamples = Number(values['cold-samples']);
  const runs: DriverRun[] = [];
  for (const driver of ['process', 'runc'] as const)
    runs.push(await runDriver(driver, durationS, coldSamples));
  process.stdout.write(report(runs));
}

runBench(main, say, { killNow: killAllNow, onInterrupt: () => say('interrupted') });
