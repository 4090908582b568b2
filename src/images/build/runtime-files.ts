/**
 * The layer that makes a Lambda runtime image: Stratus's runtime interface client (the
 * same bootstrap the process driver runs) at AWS's paths, and AWS's entrypoint convention.
 *
 *   /lambda-entrypoint.sh    ENTRYPOINT: the handler arrives as its first argument (the
 *                            image's CMD, as with AWS's base images) or in _HANDLER; runs
 *                            AWS_LAMBDA_EXEC_WRAPPER when set, then /var/runtime/bootstrap
 *   /var/runtime/bootstrap   starts the interpreter on Stratus's bootstrap (LAMBDA_RUNTIME_DIR)
 *   /var/task                function code (LAMBDA_TASK_ROOT), /opt for layers
 *
 * Node.js: NODE_PATH reaches /var/runtime/node_modules for `require`, but `import` never
 * reads NODE_PATH: ES modules resolve by walking up from the importing file
 * (/var/task/node_modules, /var/node_modules, /node_modules). /node_modules is therefore a
 * link to /var/runtime/node_modules, so `import '@aws-sdk/client-sts'` from /var/task
 * finds the runtime's SDK after the function's own node_modules, as on AWS.
 * https://docs.aws.amazon.com/lambda/latest/dg/images-create.html
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { defaultRuntimeHost } from '../../services/lambda/execution/runtimes.js';
import type { LayerEntry } from './layer.js';
import { parentDirs } from './layer.js';
import { NODE_PREFIX, SDK_DIR } from './npm.js';

export type RuntimeFamily = 'node' | 'python' | 'provided' | 'java' | 'ruby';

const ENTRYPOINT = `#!/bin/sh
# Stratus Lambda runtime image entrypoint (AWS's /lambda-entrypoint.sh convention):
# the handler is the first argument (the image's CMD) or already in _HANDLER.
if [ $# -gt 0 ]; then
  export _HANDLER="$1"
  shift
fi
# External extensions (executables in /opt/extensions, from layers) start before the
# runtime; Lambda's INIT waits for each to register (extensions.ts).
for e in /opt/extensions/*; do
  if [ -f "$e" ] && [ -x "$e" ]; then "$e" & fi
done
if [ -n "$AWS_LAMBDA_EXEC_WRAPPER" ]; then
  exec "$AWS_LAMBDA_EXEC_WRAPPER" /var/runtime/bootstrap "$@"
fi
exec /var/runtime/bootstrap "$@"
`;

const NODE_BOOTSTRAP = `#!/bin/sh
exec /${NODE_PREFIX}/bin/node /var/runtime/bootstrap.cjs "$@"
`;

const PYTHON_BOOTSTRAP = `#!/bin/sh
# -u: unbuffered, so print() reaches the log before the response is posted.
exec /usr/bin/python3 -u /var/runtime/bootstrap.py "$@"
`;

/**
 * Java: the client's classes are compiled into the image at build (builder.ts); the
 * function's classes and jars follow, as on AWS (/var/task, /var/task/lib/*.jar,
 * /opt/java/lib/*.jar). Tiered compilation stops at C1, as AWS's Java runtimes do by default,
 * for faster cold starts.
 */
const JAVA_BOOTSTRAP = `#!/bin/sh
exec java -XX:+TieredCompilation -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \\
  -cp "/var/runtime/java/classes:/var/task:/var/task/lib/*:/opt/java/lib/*" \\
  dev.stratus.lambda.Runtime "$@"
`;

const RUBY_BOOTSTRAP = `#!/bin/sh
exec ruby /var/runtime/bootstrap.rb "$@"
`;

/** Where the Java client's sources are (compiled inside the image by javac). */
export function javaClientSources(): string {
  return join(dirname(defaultRuntimeHost().nodeBootstrap), '..', 'java');
}

/** provided.*: the function (or a layer) brings the bootstrap; AWS's message when none does. */
const PROVIDED_BOOTSTRAP = `#!/bin/sh
for b in /var/task/bootstrap /opt/bootstrap; do
  if [ -f "$b" ]; then exec "$b" "$@"; fi
done
echo "Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]" >&2
exit 1
`;

/** The environment AWS's images set (the function's own variables come on top at run time). */
export function runtimeEnv(family: RuntimeFamily, version: string): string[] {
  const common = [
    'PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin',
    'LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib',
    'LANG=en_US.UTF-8',
    'TZ=:/etc/localtime',
    'LAMBDA_TASK_ROOT=/var/task',
    'LAMBDA_RUNTIME_DIR=/var/runtime',
  ];
  switch (family) {
    case 'node': {
      const major = version.split('.')[0];
      return [
        ...common,
        `NODE_PATH=/opt/nodejs/node${major}/node_modules:/opt/nodejs/node_modules:/${SDK_DIR}:/var/runtime:/var/task`,
      ];
    }
    case 'python':
      return [
        ...common,
        `PYTHONPATH=/var/task:/opt/python/lib/python${version}/site-packages:/opt/python`,
      ];
    case 'provided':
    case 'java':
      return common;
    case 'ruby': {
      const abi = `${version}.0`;
      return [
        ...common,
        `GEM_PATH=/var/task/vendor/bundle/ruby/${abi}:/opt/ruby/gems/${abi}:/var/runtime:/var/runtime/ruby/${abi}`,
        'RUBYLIB=/var/task:/var/runtime/lib:/opt/ruby/lib',
      ];
    }
    default: {
      const never: never = family;
      throw new Error(`unknown runtime family ${String(never)}`);
    }
  }
}

export const ENTRYPOINT_PATH = '/lambda-entrypoint.sh';

/** The layer's entries, in a fixed order (the bootstraps are read from runtimes/). */
export async function runtimeEntries(family: RuntimeFamily): Promise<LayerEntry[]> {
  const host = defaultRuntimeHost();
  const exe = 0o755;
  const entries: LayerEntry[] = [
    { name: 'lambda-entrypoint.sh', type: 'file', mode: exe, content: Buffer.from(ENTRYPOINT) },
  ];
  if (family === 'node') {
    entries.push({ name: 'node_modules', type: 'symlink', mode: 0o777, linkname: `/${SDK_DIR}` });
  }
  entries.push({ name: 'opt', type: 'directory', mode: exe });
  entries.push(...parentDirs('var/runtime'));
  switch (family) {
    case 'node':
      entries.push(
        {
          name: 'var/runtime/bootstrap',
          type: 'file',
          mode: exe,
          content: Buffer.from(NODE_BOOTSTRAP),
        },
        {
          name: 'var/runtime/bootstrap.cjs',
          type: 'file',
          mode: 0o644,
          content: await readFile(host.nodeBootstrap),
        },
      );
      break;
    case 'python':
      entries.push(
        {
          name: 'var/runtime/bootstrap',
          type: 'file',
          mode: exe,
          content: Buffer.from(PYTHON_BOOTSTRAP),
        },
        {
          name: 'var/runtime/bootstrap.py',
          type: 'file',
          mode: 0o644,
          content: await readFile(host.pythonBootstrap),
        },
      );
      break;
    case 'provided':
      entries.push({
        name: 'var/runtime/bootstrap',
        type: 'file',
        mode: exe,
        content: Buffer.from(PROVIDED_BOOTSTRAP),
      });
      break;
    case 'java':
      entries.push({
        name: 'var/runtime/bootstrap',
        type: 'file',
        mode: exe,
        content: Buffer.from(JAVA_BOOTSTRAP),
      });
      break;
    case 'ruby':
      entries.push(
        {
          name: 'var/runtime/bootstrap',
          type: 'file',
          mode: exe,
          content: Buffer.from(RUBY_BOOTSTRAP),
        },
        {
          name: 'var/runtime/bootstrap.rb',
          type: 'file',
          mode: 0o644,
          content: await readFile(join(dirname(host.nodeBootstrap), '..', 'ruby', 'bootstrap.rb')),
        },
      );
      break;
    default: {
      const never: never = family;
      throw new Error(`unknown runtime family ${String(never)}`);
    }
  }
  entries.push({ name: 'var/task', type: 'directory', mode: exe });
  if (family === 'python') {
    // AWS's Python images have the interpreter under /var/lang/bin, first on PATH. /var is
    // in the layer already: a tar naming a path twice is refused by Docker ("duplicates of
    // file paths not supported").
    entries.push(...[...parentDirs('var/lang/bin')].filter((e) => e.name !== 'var'), {
      name: 'var/lang/bin/python3',
      type: 'symlink',
      mode: 0o777,
      linkname: '/usr/bin/python3',
    });
  }
  return entries;
}
