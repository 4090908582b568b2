import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { descendantMemory, descendants, rssKb } from './proc-mem.js';

test('rssKb reads this process; descendants finds a child and a grandchild', async (t) => {
  if (process.platform !== 'linux') return t.skip('needs /proc');
  assert.ok((rssKb(process.pid) ?? 0) > 1000);
  // sh -c '<sleep> & wait': sh is the child, sleep the grandchild.
  const child = spawn('sh', ['-c', 'sleep 5 & wait'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const found = descendants(process.pid);
    assert.ok(found.includes(child.pid as number));
    const mem = descendantMemory(child.pid as number);
    assert.equal(mem.processes, 1);
    assert.ok(mem.rssKb > 0);
  } finally {
    child.kill('SIGKILL');
  }
});
