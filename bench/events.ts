/**
 * EventBridge (`npm run bench:events`). Figures, not pass/fail.
 *
 *   node dist/bench/events.js [--rules 1000] [--events 100000] [--burst 2000] [--paced 300]
 *
 * 1. Matching (in-process): --rules rules, each requiring its own source and a numeric
 *    range on the detail (a tenth require no source: a prefix on detail-type), matched
 *    against --events events. The router's index (src/services/events/router.ts: rules
 *    by the sources they require) against a linear scan of every rule's pattern, in the
 *    same run; both must find the same matches.
 * 2. PutEvents → Lambda over HTTP (SDK v3; Stratus as its own process, process driver):
 *    a rule with a Lambda target. --burst events sent as fast as 8 callers can (10 per
 *    PutEvents call): events accepted per second. Then, with the function idle, --paced
 *    events one per call at 50 a second: the delay from sending PutEvents to the start of
 *    the function's handler, p50 and p99 (the handler logs Date.now(); same machine clock).
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import {
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  AddPermissionCommand,
  CreateFunctionCommand,
  LambdaClient,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { IAMClient, CreateRoleCommand } from '@aws-sdk/client-iam';
import { compilePattern, type Json } from '../src/events/pattern.js';
import { RuleIndex, type CompiledRule } from '../src/services/events/router.js';
import type { RuleRecord } from '../src/services/events/store.js';
import { createZip } from '../test/helpers/zip-writer.js';
import { startStratus } from './stratus-process.js';

const say = (msg: string): void => void process.stderr.write(`[bench:events] ${msg}\n`);

const { values } = parseArgs({
  options: {
    rules: { type: 'string', default: '1000' },
    events: { type: 'string', default: '100000' },
    burst: { type: 'string', default: '2000' },
    paced: { type: 'string', default: '300' },
    'no-http': { type: 'boolean', default: false },
    'no-matching': { type: 'boolean', default: false },
  },
});

// ---- 1. matching ---------------------------------------------------------------------

function matching(nRules: number, nEvents: number): void {
  const rules: CompiledRule[] = [];
  for (let i = 0; i < nRules; i++) {
    const pattern =
      i % 10 === 9
        ? { 'detail-type': [{ prefix: `type-${i}` }] }
        : { source: [`app.${i}`], detail: { amount: [{ numeric: ['>=', 10, '<', 1000] }] } };
    rules.push({
      rule: { name: `r${i}` } as RuleRecord,
      pattern: compilePattern(JSON.stringify(pattern)),
    });
  }
  const events: Json[] = [];
  for (let i = 0; i < nEvents; i++) {
    const n = (i * 7919) % nRules;
    events.push({
      version: '0',
      id: String(i),
      source: `app.${n}`,
      'detail-type': `type-${(i * 31) % nRules}`,
      account: '000000000000',
      region: 'us-east-1',
      time: '2026-01-01T00:00:00Z',
      resources: [],
      detail: { amount: i % 2000 },
    });
  }
  const index = new RuleIndex(rules);
  const run = (match: (e: Json) => number) => {
    let matched = 0;
    const start = performance.now();
    for (const e of events) matched += match(e);
    return { ms: performance.now() - start, matched };
  };
  // Warm both paths, then time them.
  const linear = (e: Json) => rules.reduce((n, r) => n + (r.pattern.matches(e) ? 1 : 0), 0);
  const indexed = (e: Json) => index.match(e as Json & { source?: unknown }).length;
  run(linear);
  run(indexed);
  const a = run(indexed);
  const b = run(linear);
  if (a.matched !== b.matched) throw new Error(`index found ${a.matched}, scan ${b.matched}`);
  const perSec = (r: { ms: number }) => Math.round(nEvents / (r.ms / 1000));
  console.log(`matching ${nEvents} events against ${nRules} rules (${a.matched} matches):`);
  console.log(`  indexed (router)  ${perSec(a).toLocaleString('en')} events/s`);
  console.log(`  linear scan       ${perSec(b).toLocaleString('en')} events/s`);
  console.log(`  ratio             ${(perSec(a) / perSec(b)).toFixed(1)}x`);
}

// ---- 2. PutEvents → Lambda -------------------------------------------------------------

const HANDLER = `exports.handler = async (e) => { console.log('START_MS ' + Date.now() + ' ' + e.detail.n + ' ' + e.detail.sent); };\n`;

async function overHttp(burst: number, paced: number): Promise<void> {
  // Few environments (process driver: each is a node process), as a laptop would run.
  process.env.STRATUS_LAMBDA_CONCURRENT_EXECUTIONS ??= '16';
  process.env.STRATUS_LAMBDA_THROTTLE_BACKOFF_MS ??= '50';
  const server = await startStratus({ auth: 'permissive', driver: 'process' });
  const cfg = {
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const eb = new EventBridgeClient(cfg);
  const lambda = new LambdaClient(cfg);
  const logs = new CloudWatchLogsClient(cfg);
  const iam = new IAMClient(cfg);
  try {
    const role = await iam.send(
      new CreateRoleCommand({
        RoleName: 'bench',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'lambda.amazonaws.com' },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
      }),
    );
    const fn = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'sink',
        Runtime: 'nodejs20.x',
        Handler: 'index.handler',
        Role: role.Role?.Arn,
        Code: { ZipFile: createZip([{ name: 'index.js', data: HANDLER }]) },
      }),
    );
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 60 }, { FunctionName: 'sink' });
    await lambda.send(
      new AddPermissionCommand({
        FunctionName: 'sink',
        StatementId: 'events',
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
      }),
    );
    await eb.send(new PutRuleCommand({ Name: 'bench', EventPattern: '{"source":["bench"]}' }));
    await eb.send(
      new PutTargetsCommand({ Rule: 'bench', Targets: [{ Id: 'sink', Arn: fn.FunctionArn }] }),
    );

    /** Event number → delay (ms) from sending to the handler's start. */
    const starts = async (): Promise<Map<number, number>> => {
      const out = new Map<number, number>();
      let nextToken: string | undefined;
      do {
        const page = await logs.send(
          new FilterLogEventsCommand({
            logGroupName: '/aws/lambda/sink',
            nextToken,
            filterPattern: 'START_MS',
          }),
        );
        for (const e of page.events ?? []) {
          const m = /START_MS (\d+) (\d+) (\d+)/.exec(e.message ?? '');
          if (m) out.set(Number(m[2]), Number(m[1]) - Number(m[3]));
        }
        nextToken = page.nextToken;
      } while (nextToken);
      return out;
    };
    const waitFor = async (count: number, limitMs: number) => {
      const until = Date.now() + limitMs;
      for (;;) {
        const got = await starts();
        if (got.size >= count || Date.now() > until) return got;
        say(`${got.size} of ${count} invoked`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };

    // a. Burst: accepted per second.
    let next = 0;
    const t0 = performance.now();
    const caller = async () => {
      while (next < burst) {
        const from = next;
        next += 10;
        const entries = Array.from({ length: Math.min(10, burst - from) }, (_, i) => ({
          Source: 'bench',
          DetailType: 'burst',
          Detail: JSON.stringify({ n: from + i, sent: Date.now() }),
        }));
        const out = await eb.send(new PutEventsCommand({ Entries: entries }));
        if (out.FailedEntryCount) throw new Error(`PutEvents refused ${out.FailedEntryCount}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, caller));
    const acceptSec = (performance.now() - t0) / 1000;
    console.log(`PutEvents → Lambda (rule with a Lambda target, process driver):`);
    console.log(
      `  burst of ${burst}: ${Math.round(burst / acceptSec).toLocaleString('en')} events accepted/s`,
    );
    const drained = await waitFor(burst, 600_000);
    const drainSec = (performance.now() - t0) / 1000;
    console.log(
      `  all ${drained.size} invoked within ${drainSec.toFixed(1)} s (${Math.round(drained.size / drainSec)} invocations/s)`,
    );

    // b. Paced: delay from PutEvents to the handler's start.
    for (let i = 0; i < paced; i++) {
      await eb.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'bench',
              DetailType: 'paced',
              Detail: JSON.stringify({ n: burst + i, sent: Date.now() }),
            },
          ],
        }),
      );
      await new Promise((r) => setTimeout(r, 20));
    }
    const got = await waitFor(burst + paced, 120_000);
    const delays = Array.from({ length: paced }, (_, i) => got.get(burst + i))
      .filter((d): d is number => d !== undefined)
      .sort((x, y) => x - y);
    const q = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))];
    console.log(
      `  paced ${paced} (50/s): delay PutEvents → handler start p50 ${q(0.5)} ms, p99 ${q(0.99)} ms (${delays.length} measured)`,
    );
  } finally {
    eb.destroy();
    lambda.destroy();
    logs.destroy();
    iam.destroy();
    await server.stop();
  }
}

if (!values['no-matching']) matching(Number(values.rules), Number(values.events));
if (!values['no-http']) {
  overHttp(Number(values.burst), Number(values.paced)).catch((err: unknown) => {
    say(`failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  });
}
