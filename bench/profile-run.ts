/**
 * `--profile CALL`: Stratus under `node --cpu-prof` for one load run, then the functions
 * with the most self time. The profile is written when the server exits on SIGTERM.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { signCall, type CallName } from './calls.js';
import { capture } from './capture.js';
import { makeTempDir, removeTempDir } from './children.js';
import { readProfile, summarizeProfile, type ProfileSummary } from './cpu-profile.js';
import { loadOne, type LoadSettings } from './http-load.js';
import type { LoadResult } from './load-result.js';
import { repoRoot, startStratus, type AuthMode } from './stratus-process.js';

export async function profileServer(
  settings: LoadSettings,
  call: CallName,
  auth: AuthMode,
  concurrency: number,
): Promise<{ result: LoadResult; summary: ProfileSummary }> {
  const dir = makeTempDir('stratus-prof-');
  try {
    const stratus = await startStratus({ auth, cpuProfDir: dir });
    let result: LoadResult;
    try {
      const signed = await signCall(call, stratus.endpoint);
      const answer = await capture(stratus.endpoint, signed);
      if (answer.status < 200 || answer.status > 299)
        throw new Error(`${call} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      result = await loadOne(
        settings,
        { name: auth, url: stratus.endpoint, call: signed },
        concurrency,
      );
    } finally {
      await stratus.stop();
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the server wrote no .cpuprofile (did it exit cleanly?)');
    return { result, summary: summarizeProfile(readProfile(join(dir, file)), repoRoot()) };
  } finally {
    removeTempDir(dir);
  }
}
