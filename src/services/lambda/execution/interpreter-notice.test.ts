import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpreterNotice } from './interpreter-notice.js';
import { defaultRuntimeHost } from './runtimes.js';

test('process driver: a runtime naming another Node.js major than the host says which it got', async () => {
  const host = defaultRuntimeHost();
  const major = process.versions.node.split('.')[0];
  assert.equal(await interpreterNotice(`nodejs${major}.x`, 'node', host), undefined);
  const other = major === '24' ? '22' : '24';
  assert.equal(
    await interpreterNotice(`nodejs${other}.x`, 'node', host),
    `Stratus: nodejs${other}.x runs on the host's Node.js ${process.version} (process driver: host interpreter, no isolation, no memory limit)`,
  );
  // python3.9 is on no host here: the host's python3 is named.
  assert.match(
    (await interpreterNotice('python3.9', 'python', host)) ?? '',
    /^Stratus: python3\.9 runs on the host's Python 3\.\d+\.\d+ \(process driver/,
  );
});

test('containers: the runtime image table says where the interpreter differs', async () => {
  assert.equal(await interpreterNotice('nodejs22.x', 'node', undefined), undefined);
  assert.equal(await interpreterNotice('python3.13', 'python', undefined), undefined);
  // python3.12 runs on the 3.13 image, and says so with the table's reason.
  assert.match(
    (await interpreterNotice('python3.12', 'python', undefined)) ?? '',
    /^Stratus: python3\.12 runs on python 3\.13 \(stratus\/lambda-python:3\.13\): no Debian suite ships Python 3\.12/,
  );
});
