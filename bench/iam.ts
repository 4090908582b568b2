/**
 * The cost of IAM enforcement (`npm run bench:iam`): two Stratus processes in strict auth,
 * one with `--iam off` (authentication alone) and one with `--iam enforce`, side by side.
 * Each has the same IAM user with 10 customer managed policies of 10 statements each
 * attached; the statement that allows the call is the last one of the last policy, so the
 * evaluator walks all 100. The user's signed CloudWatch Logs DescribeLogGroups (json 1.1)
 * is re-sent by wrk on 1 and 16 connections, slices taking turns between the two servers.
 *
 * Targets (issue 15): p50 added per call under 20 µs; throughput at 16 connections at least
 * 0.8× of authentication alone.
 *
 *   node dist/bench/iam.js [--duration 5] [--warmup 1] [--cpu-prof DIR]
 *
 * `--cpu-prof DIR` runs the enforcing server under `node --cpu-prof` and prints where its
 * time went (the profile is written to DIR when it stops).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateUserCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { signCall } from './calls.js';
import { capture } from './capture.js';
import { readProfile, summarizeProfile } from './cpu-profile.js';
import { profileText } from './report.js';
import { CLIENT_CPU, enablePinning, isPinning, killAllNow, runBench } from './children.js';
import { interleaved, type LoadSettings } from './http-load.js';
import { repoRoot, startStratus, type StratusProcess } from './stratus-process.js';
import { findWrk } from './wrk.js';

const WATCHDOG_MS = 120_000;
const POLICIES = 10;
const STATEMENTS = 10;

function say(msg: string): void {
  process.stderr.write(`[bench:iam] ${msg}\n`);
}

/** The user with 10 × 10 statements; resolves its access key. */
async function provision(
  endpoint: string,
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const iam = new IAMClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    await iam.send(new CreateUserCommand({ UserName: 'bench' }));
    for (let p = 0; p < POLICIES; p++) {
      const Statement = Array.from({ length: STATEMENTS }, (_, s) => {
        const last = p === POLICIES - 1 && s === STATEMENTS - 1;
        return {
          Sid: `p${p}s${s}`,
          Effect: 'Allow',
          Action: last ? 'logs:DescribeLogGroups' : [`logs:Get*${p}${s}`, `lambda:List${p}x${s}*`],
          Resource: last ? '*' : `arn:aws:logs:*:*:log-group:/bench/${p}/${s}/*`,
          ...(s % 3 === 0 && {
            Condition: { StringEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'] } },
          }),
        };
      });
      const policy = await iam.send(
        new CreatePolicyCommand({
          PolicyName: `bench-${p}`,
          PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement }),
        }),
      );
      await iam.send(
        new AttachUserPolicyCommand({ UserName: 'bench', PolicyArn: policy.Policy?.Arn }),
      );
    }
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'bench' }))).AccessKey;
    return { accessKeyId: key?.AccessKeyId ?? '', secretAccessKey: key?.SecretAccessKey ?? '' };
  } finally {
    iam.destroy();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      'cpu-prof': { type: 'string' },
    },
  });
  const watchdog = setTimeout(() => {
    say(`over ${WATCHDOG_MS / 1000} s: stopping everything`);
    killAllNow();
    process.exit(1);
  }, WATCHDOG_MS);
  watchdog.unref();
  const canPin =
    process.env.BENCH_PIN !== '0' &&
    cpus().length >= 2 &&
    spawnSync('taskset', ['-p', '-c', CLIENT_CPU, String(process.pid)], { stdio: 'ignore' })
      .status === 0;
  enablePinning(canPin);
  const wrk = findWrk();
  if (!wrk) say('wrk not found: using the Node socket client, a lower bound');
  const settings: LoadSettings = {
    wrk,
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
  };

  const modes = ['off', 'enforce'] as const;
  const servers: StratusProcess[] = [];
  try {
    say('starting Stratus --auth strict with --iam off and --iam enforce');
    const profDir = values['cpu-prof'];
    for (const iam of modes) {
      const cpuProfDir = iam === 'enforce' ? profDir : undefined;
      servers.push(await startStratus({ auth: 'strict', iam, ...(cpuProfDir && { cpuProfDir }) }));
    }
    const targets = [];
    for (let i = 0; i < modes.length; i++) {
      const server = servers[i];
      const keys = await provision(server.endpoint);
      const call = await signCall('DescribeLogGroups', server.endpoint, keys);
      const answer = await capture(server.endpoint, call);
      if (answer.status !== 200)
        throw new Error(`${modes[i]}: ${answer.status} ${answer.body.slice(0, 300)}`);
      targets.push({ name: modes[i], url: server.endpoint, call, pid: server.child.pid });
    }
    const lines: string[] = [];
    const json: Record<string, unknown>[] = [];
    for (const c of [1, 16]) {
      say(`DescribeLogGroups as the user at ${c} connection${c > 1 ? 's' : ''}`);
      const results = await interleaved(settings, targets, c);
      const off = results.get('off');
      const on = results.get('enforce');
      if (!off || !on) continue;
      const addedUs = (on.p50Ms - off.p50Ms) * 1000;
      const cpuAdded =
        on.cpuUsPerCall !== undefined && off.cpuUsPerCall !== undefined
          ? on.cpuUsPerCall - off.cpuUsPerCall
          : undefined;
      lines.push(
        `c${c}: authentication alone ${Math.round(off.rps)} calls/s p50 ${off.p50Ms.toFixed(3)} ms` +
          `${off.cpuUsPerCall !== undefined ? ` (${off.cpuUsPerCall.toFixed(0)} µs CPU/call)` : ''}; ` +
          `with enforcement ${Math.round(on.rps)} calls/s p50 ${on.p50Ms.toFixed(3)} ms` +
          `${on.cpuUsPerCall !== undefined ? ` (${on.cpuUsPerCall.toFixed(0)} µs CPU/call)` : ''}; ` +
          `ratio ${(on.rps / off.rps).toFixed(2)}, p50 added ${addedUs.toFixed(0)} µs` +
          (cpuAdded !== undefined ? `, CPU added ${cpuAdded.toFixed(0)} µs/call` : '') +
          (on.non2xx || off.non2xx ? ` (non-2xx: ${off.non2xx} / ${on.non2xx})` : ''),
      );
      json.push({ concurrency: c, off, enforce: on, ratio: on.rps / off.rps, p50AddedUs: addedUs });
    }
    process.stdout.write(
      [
        '',
        `IAM enforcement cost: ${POLICIES} attached policies × ${STATEMENTS} statements, ` +
          `${wrk ? 'wrk' : 'node-socket'}, ${settings.durationS} s per server after ` +
          `${settings.warmupS} s warm-up${isPinning() ? ', servers on CPU 0 / client on CPU 1' : ''}, ` +
          `load average ${loadavg()[0].toFixed(1)}`,
        ...lines,
        'JSON:',
        JSON.stringify(json),
        '',
      ].join('\n'),
    );
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  const profDir = values['cpu-prof'];
  if (profDir) {
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile in ${profDir}`);
    process.stdout.write(
      profileText(summarizeProfile(readProfile(join(profDir, file)), repoRoot())),
    );
  }
}

runBench(main, say);
