/**
 * The load balancer benchmark: the same GET sent straight to a target, through a Stratus
 * ALB listener (its own socket: rules, X-Forwarded-*, trace id, keep-alive to the target),
 * and through nginx proxying to the same target (when an nginx binary is given or on
 * PATH), taking turns in one run so outside load falls on all alike. Figures, not
 * pass/fail; the target is ALB ≥ 0.8 × nginx requests/s.
 *
 *   npm run build && node dist/bench/elb.js [--duration 5] [--concurrency 1,16]
 *     [--nginx /usr/sbin/nginx] [--wrk /usr/bin/wrk] [--cpu-prof DIR]
 *
 * The target is bench/raw-server.ts (a bare node:http server answering `ok`); the target,
 * Stratus and nginx are pinned to CPU 0 and the load generator to CPU 1 (BENCH_PIN=0
 * turns that off), as in the other benchmarks.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { SignedCall } from './calls.js';
import { readProfile, summarizeProfile } from './cpu-profile.js';
import {
  SERVER_CPU,
  enablePinning,
  freePort,
  makeTempDir,
  removeTempDir,
  runBench,
  spawnTracked,
  stopChild,
  waitForPort,
} from './children.js';
import { interleaved, type LoadSettings, type Target } from './http-load.js';
import type { LoadResult } from './load-result.js';
import { startRawServer } from './raw-server-process.js';
import { startStratus } from './stratus-process.js';
import { findWrk } from './wrk.js';

const TARGET_NGINX_RATIO = 0.8;

function say(msg: string): void {
  process.stderr.write(`[elb-bench] ${msg}\n`);
}

function options() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '1,16' },
      nginx: { type: 'string' },
      wrk: { type: 'string' },
      /** Profile the server (node --cpu-prof into this directory) and print where its time went. */
      'cpu-prof': { type: 'string' },
    },
    strict: true,
  });
  const nginx =
    values.nginx ?? ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find((p) => existsSync(p));
  return {
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    concurrency: values.concurrency.split(',').map(Number),
    nginx,
    wrk: values.wrk ?? findWrk(),
    cpuProf: values['cpu-prof'],
  };
}

/** A plain GET of `/` with the Host header of `url`. */
const plainGet = (url: string): SignedCall => ({
  name: 'GET /',
  method: 'GET',
  path: '/',
  headers: [['host', new URL(url).host]],
  body: '',
});

/** nginx in the foreground, one worker, proxying with keep-alive to the target. */
async function startNginx(binary: string, targetPort: number) {
  const dir = makeTempDir('stratus-nginx-');
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream target { server 127.0.0.1:${targetPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://target;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Port $server_port;
    }
  }
}
`,
  );
  const child = spawnTracked(binary, ['-p', dir, '-c', conf], { stdio: 'ignore' }, SERVER_CPU);
  await waitForPort(port, 10_000, child);
  return {
    child,
    url: `http://127.0.0.1:${port}/`,
    stop: async () => {
      await stopChild(child);
      removeTempDir(dir);
    },
  };
}

async function main(): Promise<void> {
  const opts = options();
  enablePinning(process.env.BENCH_PIN !== '0');
  const load = loadavg()[0];
  say(
    `wrk: ${opts.wrk ?? 'none (Node socket client: a lower bound)'}; nginx: ${opts.nginx ?? 'none'}`,
  );

  const target = await startRawServer({
    '': { status: 200, headers: [['content-type', 'text/plain']], body: 'ok\n' },
  });
  const targetPort = Number(new URL(target.endpoint).port);
  const profileDir = opts.cpuProf;
  const stratus = await startStratus({
    auth: 'permissive',
    ...(profileDir && { cpuProfDir: profileDir }),
  });
  const elb = new ElasticLoadBalancingV2Client({
    endpoint: stratus.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'bench' }))).LoadBalancers![0];
  const tg = (
    await elb.send(
      new CreateTargetGroupCommand({
        Name: 'bench',
        Protocol: 'HTTP',
        Port: targetPort,
        VpcId: 'vpc-1',
        TargetType: 'ip',
      }),
    )
  ).TargetGroups![0].TargetGroupArn!;
  await elb.send(
    new RegisterTargetsCommand({ TargetGroupArn: tg, Targets: [{ Id: '127.0.0.1' }] }),
  );
  const listenerPort = await freePort();
  await elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancerArn,
      Protocol: 'HTTP',
      Port: listenerPort,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: tg }],
    }),
  );
  for (;;) {
    const h = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg }));
    if (h.TargetHealthDescriptions?.[0]?.TargetHealth?.State === 'healthy') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  elb.destroy();
  const nginx = opts.nginx ? await startNginx(opts.nginx, targetPort) : undefined;

  const direct = `http://127.0.0.1:${targetPort}/`;
  const alb = `http://127.0.0.1:${listenerPort}/`;
  const targets: Target[] = [
    { name: 'direct', url: direct, call: plainGet(direct), pid: target.child.pid },
    { name: 'alb', url: alb, call: plainGet(alb), pid: stratus.child.pid },
    ...(nginx
      ? [{ name: 'nginx', url: nginx.url, call: plainGet(nginx.url), pid: nginx.child.pid }]
      : []),
  ];
  const settings: LoadSettings = {
    wrk: opts.wrk,
    durationS: opts.durationS,
    warmupS: opts.warmupS,
  };
  const rows: Record<string, unknown>[] = [];
  const fmt = (r: LoadResult | undefined) =>
    r
      ? `${Math.round(r.rps)} req/s p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms.toFixed(2)} ms`
      : '-';
  for (const c of opts.concurrency) {
    const results = await interleaved(settings, targets, c);
    const d = results.get('direct')!;
    const a = results.get('alb')!;
    const n = results.get('nginx');
    const bad = [...results.values()].reduce((s, r) => s + r.non2xx + r.errors, 0);
    console.log(`\nconcurrency ${c}`);
    console.log(`  direct to target : ${fmt(d)}`);
    console.log(`  through Stratus  : ${fmt(a)}  (${(a.rps / d.rps).toFixed(2)} × direct)`);
    if (n) {
      const ratio = a.rps / n.rps;
      console.log(
        `  through nginx    : ${fmt(n)}  (Stratus ÷ nginx ${ratio.toFixed(2)}, target ≥ ${TARGET_NGINX_RATIO}: ${ratio >= TARGET_NGINX_RATIO ? 'met' : 'missed'})`,
      );
    }
    if (a.cpuUsPerCall !== undefined) {
      console.log(
        `  CPU per request  : Stratus ${a.cpuUsPerCall.toFixed(0)} µs` +
          (n?.cpuUsPerCall ? `, nginx ${n.cpuUsPerCall.toFixed(0)} µs` : ''),
      );
    }
    if (bad > 0) console.log(`  ${bad} failed or non-2xx answers: figures are suspect`);
    rows.push({ concurrency: c, direct: d, alb: a, nginx: n });
  }
  console.log(JSON.stringify({ bench: 'elb', loadBefore: load, loadAfter: loadavg()[0], rows }));
  await nginx?.stop();
  await stratus.stop();
  if (profileDir) {
    const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      const summary = summarizeProfile(readProfile(join(profileDir, file)), process.cwd());
      for (const h of summary.top) say(`${(h.share * 100).toFixed(1)}%  ${h.where}`);
    }
  }
  await target.stop();
}

runBench(main, say);
