import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostDebianMirrors } from './debian.js';

test('the Debian mirrors come from apt sources, one-line and deb822 forms', async () => {
  const apt = await mkdtemp(join(tmpdir(), 'apt-'));
  try {
    await mkdir(join(apt, 'sources.list.d'));
    await writeFile(
      join(apt, 'sources.list'),
      '# comment\ndeb [arch=amd64] http://mirror.example/debian/ bookworm main\n',
    );
    await writeFile(
      join(apt, 'sources.list.d', 'debian.sources'),
      'Types: deb\nURIs: http://other.example/debian-security\nSuites: bookworm-security\n',
    );
    await writeFile(join(apt, 'sources.list.d', 'x.disabled'), 'deb http://no.example/debian x\n');
    assert.deepEqual(await hostDebianMirrors(apt), {
      mirror: 'http://mirror.example/debian',
      security: 'http://other.example/debian-security',
    });
    assert.deepEqual(await hostDebianMirrors(join(apt, 'missing')), {
      mirror: undefined,
      security: undefined,
    });
  } finally {
    await rm(apt, { recursive: true, force: true });
  }
});
