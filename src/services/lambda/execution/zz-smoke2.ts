import { createExecutor } from './executor.js';
import { ProcessDriver } from '../../../runtime/process/driver.js';
const events: string[] = [];
const ex = createExecutor({
  driver: new ProcessDriver(),
  logs: {
    append: async (_s, g, st, evs) => {
      for (const e of evs) events.push(`${e.message}`);
    },
  },
  endpoint: () => 'http://127.0.0.1:4566',
  prestart: { node: 0, python: 0 },
});
const base = {
  account: '000000000000',
  region: 'us-east-1',
  functionName: 'py',
  functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:py:$LATEST',
  version: '$LATEST',
  runtime: 'python3.12',
  handler: 'app.handler',
  memoryMb: 128,
  timeoutSeconds: 3,
  ephemeralStorageMb: 512,
  environment: {},
  codeDir: '/tmp/fn3',
  layerDirs: [],
  revisionId: 'r1',
  credentials: { accessKeyId: 'AKIA', secretAccessKey: 's', sessionToken: 't' },
  logGroupName: '/aws/lambda/py',
};
for (const [h, rev] of [
  ['app.handler', 'r1'],
  ['app.handler', 'r1'],
  ['app.boom', 'r2'],
  ['nope.handler', 'r3'],
]) {
  const t = performance.now();
  const o = await ex.invoke(
    { ...base, handler: h, revisionId: rev },
    { requestId: `req-${h}-${rev}`, payload: Buffer.from('{"a":1}'), tailLogs: true },
  );
  console.log((performance.now() - t).toFixed(1), o.kind, o.payload.toString(), o.initDurationMs);
}
await ex.stop();
console.log(events.join('\n'));
