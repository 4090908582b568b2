/**
 * The measurements: both Stratus auth modes and the raw server run side by side (three
 * processes, one serving at a time), load slices and boto3 chunks take turns between them.
 */
import { runBoto3, startMoto, type Boto3Rates } from './boto3-ratio.js';
import { CALLS, signCall, type CallName, type SignedCall } from './calls.js';
import { capture, type CannedResponse } from './capture.js';
import { interleaved, type LoadSettings, type Target } from './http-load.js';
import { startRawServer, type RawServerProcess } from './raw-server-process.js';
import { boto3Rows, type BenchReport } from './report.js';
import { startStratus, type AuthMode, type StratusProcess } from './stratus-process.js';

export const CONCURRENCY = [1, 16] as const;
export const AUTH_MODES: readonly AuthMode[] = ['permissive', 'strict'];

/** X-Amz-Target per call: how the raw server tells the two apart ('' = query). */
const TARGETS: Record<CallName, string> = {
  GetCallerIdentity: '',
  DescribeLogGroups: 'Logs_20140328.DescribeLogGroups',
};

export interface CoreOptions {
  boto3: boolean;
  moto: boolean;
  boto3Calls: number;
  boto3Seconds: number;
}

export type Say = (msg: string) => void;

/** Signs one call for `endpoint` and checks Stratus answers it with a 2xx. */
async function prepare(
  name: CallName,
  endpoint: string,
  auth: AuthMode,
): Promise<{ signed: SignedCall; answer: CannedResponse }> {
  const signed = await signCall(name, endpoint);
  const answer = await capture(endpoint, signed);
  if (answer.status < 200 || answer.status > 299)
    throw new Error(`${name} (${auth}) answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return { signed, answer };
}

/** Fills `report` as it goes, so a watchdog stop can still print what was measured. */
export async function coreBenchmark(
  opts: CoreOptions,
  settings: LoadSettings,
  report: BenchReport,
  say: Say,
): Promise<void> {
  const servers = new Map<AuthMode, StratusProcess>();
  let raw: RawServerProcess | undefined;
  try {
    say('starting Stratus (--auth permissive and --auth strict)');
    const started = await Promise.allSettled(AUTH_MODES.map((auth) => startStratus({ auth })));
    started.forEach((r, i) => r.status === 'fulfilled' && servers.set(AUTH_MODES[i], r.value));
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    const stratus = (auth: AuthMode) => servers.get(auth) as StratusProcess;

    const signed = new Map<string, SignedCall>();
    const answers: Record<string, CannedResponse> = {};
    for (const name of CALLS) {
      for (const auth of AUTH_MODES) {
        const p = await prepare(name, stratus(auth).endpoint, auth);
        signed.set(`${name} ${auth}`, p.signed);
        // The raw server replays permissive mode's answer (bodies differ only in request ids).
        if (auth === 'permissive') answers[TARGETS[name]] = p.answer;
      }
    }
    raw = await startRawServer(answers);
    const rawUrl = raw.endpoint;

    for (const name of CALLS) {
      for (const c of CONCURRENCY) {
        say(`${name} at ${c} connection${c > 1 ? 's' : ''}`);
        const targets: Target[] = [
          ...AUTH_MODES.map((auth) => ({
            name: auth,
            url: stratus(auth).endpoint,
            call: signed.get(`${name} ${auth}`) as SignedCall,
            pid: stratus(auth).child.pid,
          })),
          {
            name: 'raw',
            url: rawUrl,
            call: signed.get(`${name} permissive`) as SignedCall,
            pid: raw.child.pid,
          },
        ];
        const results = await interleaved(settings, targets, c);
        const r = results.get('raw');
        for (const auth of AUTH_MODES) {
          const s = results.get(auth);
          if (!s || !r) continue;
          report.load.push({ call: name, auth, concurrency: c, stratus: s, raw: r });
          if (s.non2xx || s.errors)
            report.problems.push(
              `${name} c${c} ${auth}: ${s.non2xx} non-2xx answers, ${s.errors} socket errors`,
            );
        }
        if (r && (r.non2xx || r.errors))
          report.problems.push(`${name} c${c} raw: ${r.non2xx} non-2xx, ${r.errors} errors`);
      }
    }

    if (opts.boto3) {
      const endpoints: Record<string, string> = { stub: rawUrl };
      for (const auth of AUTH_MODES) endpoints[`stratus-${auth}`] = stratus(auth).endpoint;
      const moto = opts.moto ? await startMoto() : undefined;
      if (opts.moto && !moto) report.problems.push('moto_server not installed: no reference');
      if (moto) endpoints.moto = moto.endpoint;
      try {
        say(`boto3 against ${Object.keys(endpoints).join(', ')}, taking turns`);
        const rates = await runBoto3({
          endpoints,
          calls: CALLS,
          n: opts.boto3Calls,
          budgetS: opts.boto3Seconds,
        });
        report.boto3Rates = rates;
        for (const auth of AUTH_MODES) {
          const s: Boto3Rates | undefined = rates[`stratus-${auth}`];
          if (s && rates.stub) report.boto3.push(...boto3Rows(auth, s, rates.stub, rates.moto));
        }
      } finally {
        await moto?.stop();
      }
    }
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await raw?.stop();
  }
}
