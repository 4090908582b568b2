/**
 * Times bare interpreter starts (`node -e 0`, `python3 -c 0`): spawn to exit, wall clock.
 * Run as its own process so that it can sit on the server's CPU like the runtimes do.
 *
 *   node dist/bench/spawn-timer.js <samples> '<json: {"label": ["cmd", "arg", ...], ...}>'
 * Prints {"label": [ms, ...], ...} on stdout. The commands take turns. A label ending in
 * `+env` runs with this process's environment; the others get the few variables Stratus
 * hands its runtime processes (PATH, LANG, TZ): inherited ones such as
 * NODE_EXTRA_CA_CERTS (a CA bundle read at start-up) would make the bare start slower than
 * the runtimes' own.
 */
import { spawnSync } from 'node:child_process';

const samples = Number(process.argv[2]);
const commands = JSON.parse(process.argv[3] ?? '{}') as Record<string, string[]>;
if (!Number.isInteger(samples) || samples < 1) {
  process.stderr.write('usage: spawn-timer.js <samples> <commands.json>\n');
  process.exit(2);
}
const runtimeEnv = {
  PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  LANG: 'en_US.UTF-8',
  TZ: ':UTC',
};
const envFor = (label: string) => (label.endsWith('+env') ? process.env : runtimeEnv);
const out: Record<string, number[]> = {};
for (const label of Object.keys(commands)) out[label] = [];
// One untimed start each first: the page cache then holds the interpreter, as it does for
// the server's runtimes.
for (const [label, [cmd, ...args]] of Object.entries(commands))
  spawnSync(cmd, args, { stdio: 'ignore', env: envFor(label) });
for (let i = 0; i < samples; i++) {
  for (const [label, [cmd, ...args]] of Object.entries(commands)) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: 'ignore', env: envFor(label) });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${label} exited ${r.status}: ${String(r.error ?? '')}`);
    out[label].push(ms);
  }
}
process.stdout.write(JSON.stringify(out) + '\n');
