import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readProfile, summarizeProfile } from './cpu-profile.js';

test('summarizeProfile ranks a real profile by self time', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-prof-test-'));
  try {
    // ~300 ms in one named function, little elsewhere.
    const program = `
      function spinHot(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x; }
      spinHot(300);`;
    const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '-e', program]);
    assert.equal(r.status, 0, r.stderr.toString());
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    assert.ok(file, 'no profile written');
    const s = summarizeProfile(readProfile(join(dir, file)), dir);
    assert.match(s.top[0].where, /^spinHot \(.*:2\)$/);
    assert.ok(s.top[0].selfMs > 150, `spinHot self time ${s.top[0].selfMs} ms`);
    assert.ok(s.top[0].share > 0.5 && s.top[0].share <= 1);
    assert.ok(s.totalMs >= s.top[0].selfMs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
