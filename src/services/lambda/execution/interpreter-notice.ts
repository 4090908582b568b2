/**
 * No silent substitution: where a function does not run on the interpreter its runtime
 * names, its log says so once (the first INIT of each function and runtime). In containers
 * the runtime image table says which interpreter each image carries
 * (images/build/runtime-images.ts); with the process driver it is whatever the host has.
 */
import { execFile } from 'node:child_process';
import { runtimeImage } from '../../../images/build/runtime-images.js';
import type { RuntimeFamily, RuntimeHost } from './runtimes.js';

const hostPython = new WeakMap<RuntimeHost, Promise<string | undefined>>();

/** `3.11.2`, the host interpreter's full version (asked once per host). */
function pythonVersion(host: RuntimeHost): Promise<string | undefined> {
  let p = hostPython.get(host);
  if (p === undefined) {
    p = host.pythonExecutable().then(
      (exe) =>
        new Promise<string | undefined>((resolve) => {
          execFile(
            exe,
            ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'],
            (err, out) => resolve(err ? undefined : out.trim()),
          );
        }),
    );
    hostPython.set(host, p);
  }
  return p;
}

/**
 * The log line for `runtime`, or undefined when it runs on the interpreter it names.
 * `host` set: the process driver (host interpreters); unset: the runtime's image.
 */
export async function interpreterNotice(
  runtime: string,
  family: RuntimeFamily,
  host: RuntimeHost | undefined,
): Promise<string | undefined> {
  if (host === undefined) {
    const image = runtimeImage(runtime);
    if (image === undefined || image.exact) return undefined;
    return `Stratus: ${runtime} runs on ${image.interpreterVersion} (${image.image}): ${image.note ?? 'not the interpreter the runtime names'}`;
  }
  const why = 'process driver: host interpreter, no isolation, no memory limit';
  if (family === 'node') {
    const wanted = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
    const got = process.versions.node;
    if (wanted === undefined || got.split('.')[0] === wanted) return undefined;
    return `Stratus: ${runtime} runs on the host's Node.js v${got} (${why})`;
  }
  if (family === 'python') {
    const wanted = runtime.slice('python'.length);
    const got = await pythonVersion(host);
    if (got !== undefined && (got === wanted || got.startsWith(`${wanted}.`))) return undefined;
    return `Stratus: ${runtime} runs on the host's Python ${got ?? '(version unknown)'} (${why})`;
  }
  return undefined;
}
