import { spawn, spawnSync } from 'node:child_process';
import { createExecutor } from './executor.js';
import { ProcessDriver } from '../../../runtime/process/driver.js';
const N = Number(process.env.N ?? 20);
const p50 = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1];
};
const py = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'])
  .stdout.toString()
  .trim();
function bareOnce(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  return new Promise((r) =>
    spawn(cmd, args, { stdio: 'ignore' }).on('exit', () => r(performance.now() - t0)),
  );
}
async function run(runtime: string, handler: string, prestart: number, bare: [string, string[]]) {
  const ex = createExecutor({
    driver: new ProcessDriver(),
    logs: { append: async () => {} },
    endpoint: () => 'http://127.0.0.1:4566',
    prestart: { node: prestart, python: prestart },
    prestartNow: prestart > 0,
  });
  await new Promise((r) => setTimeout(r, 1500));
  const t: number[] = [];
  const init: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < N; i++) {
    b.push(await bareOnce(...bare));
    const name = `cold-${runtime}-${i}`;
    const fn = {
      account: '000000000000',
      region: 'us-east-1',
      functionName: name,
      functionArn: `arn:aws:lambda:us-east-1:000000000000:function:${name}:$LATEST`,
      version: '$LATEST',
      runtime,
      handler,
      memoryMb: 128,
      timeoutSeconds: 10,
      ephemeralStorageMb: 512,
      environment: {},
      codeDir: '/tmp/coldfn',
      layerDirs: [],
      revisionId: `r${i}`,
      credentials: { accessKeyId: 'A', secretAccessKey: 's', sessionToken: 't' },
      logGroupName: `/aws/lambda/${name}`,
    };
    const t0 = performance.now();
    const o = await ex.invoke(fn, {
      requestId: `c${i}`,
      payload: Buffer.from('{}'),
      tailLogs: false,
    });
    t.push(performance.now() - t0);
    init.push(o.initDurationMs ?? 0);
    if (o.kind !== 'success') throw new Error(o.payload.toString());
    await ex.retire('000000000000', 'us-east-1', name);
    await new Promise((r) => setTimeout(r, 300)); // cold starts spaced out (lets a pre-started pool refill)
  }
  await ex.stop();
  console.log(
    `${runtime} ${prestart ? 'pre-started' : 'spawned'}: cold invoke p50 ${p50(t).toFixed(1)} ms (Init Duration p50 ${p50(init).toFixed(1)} ms); bare ${bare[0].split('/').pop()} ${bare[1].join(' ')} p50 ${p50(b).toFixed(1)} ms -> ratio ${(p50(t) / p50(b)).toFixed(2)}`,
  );
}
await run('nodejs20.x', 'index.handler', 0, [process.execPath, ['-e', '0']]);
await run('nodejs20.x', 'index.handler', 1, [process.execPath, ['-e', '0']]);
await run('python3.12', 'app.handler', 0, [py, ['-c', '0']]);
await run('python3.12', 'app.handler', 1, [py, ['-c', '0']]);
