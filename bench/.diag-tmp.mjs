import { startStratus } from '/work/main/dist/bench/stratus-process.js';
import { setUp, createNoop } from '/work/main/dist/bench/lambda-setup.js';
import { rssKb } from '/work/main/dist/bench/proc-mem.js';
import { stopAll } from '/work/main/dist/bench/children.js';
import { CloudWatchLogsClient, DescribeLogStreamsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { InvokeCommand } from '@aws-sdk/client-lambda';
const s = await startStratus({ auth: 'permissive' });
try {
  const b = await setUp(s.endpoint);
  await createNoop(b, 'd', 'node');
  const logs = new CloudWatchLogsClient({ endpoint: s.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const stored = async () => { const r = await logs.send(new DescribeLogStreamsCommand({ logGroupName: '/aws/lambda/d' })); return r.logStreams?.map(x => [x.storedBytes, x.lastEventTimestamp]); };
  for (let round = 0; round < 3; round++) {
    await Promise.all(Array.from({ length: 10 }, async () => { for (let i = 0; i < 1000; i++) await b.lambda.send(new InvokeCommand({ FunctionName: 'd', Payload: Buffer.from('{}') })); }));
    console.log('after', (round + 1) * 10000, 'invokes: rss MB', (rssKb(s.child.pid) / 1024).toFixed(1), 'streams', JSON.stringify(await stored()));
  }
  b.destroy(); logs.destroy();
} finally { await s.stop(); await stopAll(); }
