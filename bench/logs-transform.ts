/**
 * What a log transformer costs at ingestion: PutLogEvents batches of 1,000 events into two
 * groups of one Stratus process, one plain and one with a five-processor transformer (grok,
 * typeConverter, addKeys, copyValue, lowerCaseString), taking turns. Figures: events/s for
 * each and the ratio; plus the compiled transformer alone, in this process, against
 * JSON.parse + JSON.stringify of the same line as a baseline.
 *
 *   npm run build && node dist/bench/logs-transform.js [--rounds 20]
 */
import { parseArgs } from 'node:util';
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  PutTransformerCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import type { Processor } from '../src/api/logs/types.js';
import { compileTransformer } from '../src/services/logs/transform/processors.js';
import { startStratus } from './stratus-process.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' } } });
const ROUNDS = Number(values.rounds);
const BATCH = 1000;

const PROCESSORS: Processor[] = [
  {
    grok: { match: '%{IPV4:client} %{WORD:method} %{URIPATH:path} %{NUMBER:status} %{NUMBER:ms}' },
  },
  {
    typeConverter: {
      entries: [
        { key: 'status', type: 'integer' },
        { key: 'ms', type: 'double' },
      ],
    },
  },
  { addKeys: { entries: [{ key: 'env', value: 'bench' }] } },
  { copyValue: { entries: [{ source: '@logGroupName', target: 'group' }] } },
  { lowerCaseString: { withKeys: ['method'] } },
];
const line = (i: number) => `10.0.${i % 250}.${i % 200} GET /api/items/${i} 200 ${i % 97}.5`;

function inProcess(): void {
  const run = compileTransformer(PROCESSORS);
  const origin = { account: '000000000000', region: 'us-east-1', group: '/g', stream: 's' };
  const n = 200_000;
  const time = (f: (i: number) => unknown): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) f(i);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const json = time((i) => JSON.stringify(JSON.parse(`{"l":"${line(i)}"}`)));
  const transformed = time((i) => JSON.stringify(run(line(i), origin)));
  console.log(
    `in process: transformer ${Math.round(n / transformed)} events/s, ` +
      `JSON.parse+stringify ${Math.round(n / json)} events/s, ` +
      `ratio ${(json / transformed).toFixed(2)}`,
  );
}

const server = await startStratus({ auth: 'permissive' });
const logs = new CloudWatchLogsClient({
  endpoint: server.endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
});
try {
  inProcess();
  const groups = ['/bench/plain', '/bench/transformed'];
  for (const g of groups) {
    await logs.send(new CreateLogGroupCommand({ logGroupName: g }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: g, logStreamName: 's' }));
  }
  await logs.send(
    new PutTransformerCommand({ logGroupIdentifier: groups[1], transformerConfig: PROCESSORS }),
  );
  const spent = new Map(groups.map((g) => [g, 0]));
  for (let r = -1; r < ROUNDS; r++) {
    for (const g of r % 2 ? groups : [...groups].reverse()) {
      const now = Date.now();
      const logEvents = Array.from({ length: BATCH }, (_, i) => ({
        timestamp: now,
        message: line(r * BATCH + i),
      }));
      const t0 = process.hrtime.bigint();
      await logs.send(new PutLogEventsCommand({ logGroupName: g, logStreamName: 's', logEvents }));
      // Round -1 warms both paths up and is not counted.
      if (r >= 0) spent.set(g, (spent.get(g) ?? 0) + Number(process.hrtime.bigint() - t0) / 1e9);
    }
  }
  const rate = (g: string) => (ROUNDS * BATCH) / (spent.get(g) ?? 1);
  console.log(
    `PutLogEvents (${BATCH}/call, ${ROUNDS} calls each): plain ${Math.round(rate(groups[0]))} events/s, ` +
      `transformed ${Math.round(rate(groups[1]))} events/s, ratio ${(rate(groups[1]) / rate(groups[0])).toFixed(2)}`,
  );
} finally {
  logs.destroy();
  await server.stop();
}
