/**
 * The short fuzz run (the long one is bench/fuzz.ts): a few thousand malformed requests per
 * protocol and data plane, over raw sockets, validly re-signed, unsigned or with broken
 * signatures, against Stratus as its own process in permissive and in strict mode.
 * Asserted: the process never exits, every request gets an answer or a closed connection
 * within 10 s, and no answer is a 500 (malformed input is the client's fault).
 *
 * FUZZ_SEED=<n> replays a run; FUZZ_REQUESTS=<n> sets the requests per protocol and mode (300: 6,000 requests in all, under a minute here).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  GROUPS,
  describeFailure,
  prepareTargets,
  runFuzz,
  seeds,
  type RunResult,
  type Seed,
} from './helpers/fuzz.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const PER_GROUP = Number(process.env.FUZZ_REQUESTS ?? 300);

for (const auth of ['permissive', 'strict'] as const) {
  describe(`fuzzing every protocol and data plane (${auth} auth)`, () => {
    let server: ServerProcess;
    let all: Seed[];
    let port: number;

    before(async () => {
      server = await spawnServer(['--ephemeral', '--auth', auth]);
      port = Number(new URL(server.endpoint).port);
      all = seeds(await prepareTargets(server.endpoint));
    });
    after(async () => {
      server.child.kill('SIGTERM');
      await server.exited;
    });

    test(`${PER_GROUP} requests per protocol: no exit, no hang, no 500 (seed ${SEED})`, async () => {
      const result: RunResult = await runFuzz({
        port,
        seeds: all,
        seed: SEED + (auth === 'strict' ? 1 : 0),
        perGroup: PER_GROUP,
        concurrency: 16,
        alive: () => server.child.exitCode === null && server.child.signalCode === null,
      });
      for (const g of GROUPS) assert.equal(result.stats[g].sent, PER_GROUP, `${g} fully sent`);
      const report = result.failures.map((f) => describeFailure(result.seed, f)).join('\n\n');
      assert.equal(
        result.serverGone,
        false,
        `the server exited (seed ${result.seed}):\n${server.output().slice(-4000)}`,
      );
      assert.equal(
        result.failures.length,
        0,
        `seed ${result.seed}: ${result.failures.length} failures\n${report}\n--- server log ---\n${server
          .output()
          .slice(-4000)}`,
      );
      // The server still answers a plain request afterwards.
      const health = await fetch(`${server.endpoint}/_stratus/health`);
      assert.equal(health.status, 200);
    });
  });
}
