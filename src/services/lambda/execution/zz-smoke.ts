import { createExecutor } from './executor.js';
import { ProcessDriver } from '../../../runtime/process/driver.js';
const events: string[] = [];
const ex = createExecutor({
  driver: new ProcessDriver(),
  logs: {
    append: async (_s, g, st, evs) => {
      for (const e of evs) events.push(`${st} | ${e.message}`);
    },
  },
  endpoint: () => 'http://127.0.0.1:4566',
  prestart: { node: 0, python: 0 },
});
const fn = {
  account: '000000000000',
  region: 'us-east-1',
  functionName: 'f1',
  functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f1:$LATEST',
  version: '$LATEST',
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  memoryMb: 128,
  timeoutSeconds: 3,
  ephemeralStorageMb: 512,
  environment: { FOO: 'bar' },
  codeDir: '/tmp/fn1',
  layerDirs: [],
  revisionId: 'r1',
  credentials: { accessKeyId: 'AKIA', secretAccessKey: 's', sessionToken: 't' },
  logGroupName: '/aws/lambda/f1',
};
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  const o = await ex.invoke(fn, {
    requestId: `req-${i}`,
    payload: Buffer.from(`{"i":${i}}`),
    tailLogs: true,
  });
  console.log(
    performance.now() - t,
    o.kind,
    o.payload.toString(),
    o.initDurationMs,
    o.maxMemoryUsedMb,
  );
}
const t = performance.now();
for (let i = 0; i < 2000; i++)
  await ex.invoke(fn, { requestId: `w-${i}`, payload: Buffer.from('{}'), tailLogs: false });
console.log('per warm invoke ms', (performance.now() - t) / 2000);
await ex.stop();
console.log(events.slice(0, 12).join('\n'));
