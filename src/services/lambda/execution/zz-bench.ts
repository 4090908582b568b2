import { createExecutor } from './executor.js';
import { ProcessDriver } from '../../../runtime/process/driver.js';
const ex = createExecutor({
  driver: new ProcessDriver(),
  logs: { append: async () => {} },
  endpoint: () => 'http://127.0.0.1:4566',
  prestart: { node: 0, python: 0 },
});
const fn = {
  account: '000000000000',
  region: 'us-east-1',
  functionName: 'f2',
  functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f2:$LATEST',
  version: '$LATEST',
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  memoryMb: 128,
  timeoutSeconds: 3,
  ephemeralStorageMb: 512,
  environment: {},
  codeDir: '/tmp/fn2',
  layerDirs: [],
  revisionId: 'r1',
  credentials: { accessKeyId: 'AKIA', secretAccessKey: 's', sessionToken: 't' },
  logGroupName: '/aws/lambda/f2',
};
const payload = Buffer.from('{}');
for (let i = 0; i < 500; i++)
  await ex.invoke(fn, { requestId: `x-${i}`, payload, tailLogs: false });
const N = Number(process.env.N ?? 2000);
const lat: number[] = [];
const t = performance.now();
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  await ex.invoke(fn, { requestId: `w-${i}`, payload, tailLogs: false });
  lat.push(performance.now() - t0);
}
const total = performance.now() - t;
lat.sort((a, b) => a - b);
console.log(
  `warm invoke: mean ${((total / N) * 1000).toFixed(0)} us, p50 ${(lat[N >> 1] * 1000).toFixed(0)} us, p99 ${(lat[Math.floor(N * 0.99)] * 1000).toFixed(0)} us`,
);
const cpu0 = process.cpuUsage();
const t2 = performance.now();
for (let i = 0; i < N; i++) await ex.invoke(fn, { requestId: `c-${i}`, payload, tailLogs: false });
const cpu = process.cpuUsage(cpu0);
console.log(
  `stratus-side CPU per invoke: ${((cpu.user + cpu.system) / N).toFixed(0)} us (wall ${(((performance.now() - t2) / N) * 1000).toFixed(0)} us)`,
);
await ex.stop();
// concurrency 10
const ex2 = createExecutor({ driver: new ProcessDriver(), logs: { append: async () => {} }, endpoint: () => 'x', prestart: { node: 0, python: 0 } });
const C = 10, PER = 500;
await Promise.all(Array.from({ length: C }, async (_, c) => { for (let i = 0; i < 20; i++) await ex2.invoke(fn, { requestId: `p${c}-${i}`, payload, tailLogs: false }); }));
const tc = performance.now();
await Promise.all(Array.from({ length: C }, async (_, c) => { for (let i = 0; i < PER; i++) await ex2.invoke(fn, { requestId: `q${c}-${i}`, payload, tailLogs: false }); }));
console.log(`concurrency ${C}: ${(C * PER / ((performance.now() - tc) / 1000)).toFixed(0)} invokes/s with ${ex2.environmentCount()} environments`);
await ex2.stop();
