/**
 * How each Lambda runtime is launched on the host, and the environment it gets.
 *
 * Layers: the process driver cannot mount anything at /opt, so each layer directory is
 * passed where the runtime looks for /opt content (later layers first, as later layers
 * win under /opt):
 *   Node.js   NODE_PATH   <layer>/nodejs/node<major>/node_modules, <layer>/nodejs/node_modules
 *   Python    PYTHONPATH  <layer>/python/lib/python3.<minor>/site-packages, <layer>/python
 *   all       PATH        <layer>/bin;  LD_LIBRARY_PATH <layer>/lib
 *   provided  the bootstrap may come from a layer (/opt/bootstrap).
 * Stratus's own node_modules come last on NODE_PATH so that `require('@aws-sdk/client-sts')`
 * resolves as it does on AWS's Node.js runtimes, which ship SDK v3. NODE_PATH does not
 * apply to ES modules (`import` never reads it): ESM handlers must bundle the SDK or load
 * it through `createRequire`.
 */
import { execFile } from 'node:child_process';
import { access, constants, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionVersionSpec } from './types.js';

export type RuntimeFamily = 'node' | 'python' | 'provided' | 'java' | 'ruby';

export function runtimeFamily(runtime: string): RuntimeFamily | undefined {
  if (runtime.startsWith('nodejs') && runtime.endsWith('.x')) return 'node';
  if (runtime.startsWith('python3.')) return 'python';
  if (/^java\d+(\.al2)?$/.test(runtime)) return 'java';
  if (runtime.startsWith('ruby')) return 'ruby';
  if (runtime === 'provided' || runtime === 'provided.al2' || runtime === 'provided.al2023') {
    return 'provided';
  }
  return undefined;
}

/** Where the interpreters and Stratus's bootstraps are. Resolved once per executor. */
export interface RuntimeHost {
  nodeExecutable: string;
  /** Resolved lazily: `python3` is often a shim script (pyenv) that costs 100+ ms. */
  pythonExecutable(): Promise<string>;
  nodeBootstrap: string;
  pythonBootstrap: string;
  /** Stratus's own node_modules (AWS SDK v3 for handlers). */
  sdkNodeModules: string | undefined;
  /** PATH handed to functions after their layers' bin directories. */
  basePath: string;
}

export function defaultRuntimeHost(runtimesDir?: string): RuntimeHost {
  const root = runtimesDir ? resolve(runtimesDir, '..') : findRepoRoot();
  const dir = runtimesDir ?? join(root, 'runtimes');
  const sdk = join(root, 'node_modules');
  let python: Promise<string> | undefined;
  return {
    nodeExecutable: process.execPath,
    pythonExecutable: () => (python ??= resolvePython()),
    nodeBootstrap: join(dir, 'node', 'bootstrap.cjs'),
    pythonBootstrap: join(dir, 'python', 'bootstrap.py'),
    sdkNodeModules: existsSync(sdk) ? sdk : undefined,
    basePath: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  };
}

/** The repository (or installed package) root: the first ancestor holding runtimes/. */
function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'runtimes', 'node', 'bootstrap.cjs'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('Stratus runtimes/ directory not found');
    dir = parent;
  }
}

function resolvePython(): Promise<string> {
  return new Promise((resolveExe) => {
    execFile('python3', ['-c', 'import sys; print(sys.executable)'], (err, stdout) => {
      const exe = stdout?.trim();
      resolveExe(!err && exe ? exe : 'python3');
    });
  });
}

export interface LaunchPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/** An init failure found before anything runs (e.g. no bootstrap for `provided`). */
export class LaunchError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

/** `err` as the init error of a failed launch: Runtime.Unknown unless it is a LaunchError. */
export function asLaunchError(err: unknown): LaunchError {
  if (err instanceof LaunchError) return err;
  return new LaunchError(
    'Runtime.Unknown',
    `Error: ${err instanceof Error ? err.message : String(err)}`,
  );
}

/** A spawn failure as the init error AWS reports for a bootstrap it cannot run. */
export function spawnFailure(command: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'ENOENT' || code === 'ENOEXEC') {
    return new LaunchError(
      'Runtime.InvalidEntrypoint',
      `Error: fork/exec ${command}: ${code === 'EACCES' ? 'permission denied' : 'no such file or directory'}`,
    );
  }
  return err;
}

/** The folder of Stratus's own bootstrap for a Node.js or Python runtime. */
export function bootstrapDir(host: RuntimeHost, family: RuntimeFamily): string {
  return family === 'python' ? join(host.pythonBootstrap, '..') : join(host.nodeBootstrap, '..');
}

/**
 * The variables of a runtime process started ahead of need: enough to boot the
 * interpreter; the function's own arrive with its assignment.
 */
export function prestartEnvironment(
  host: RuntimeHost,
  family: RuntimeFamily,
  tmpDir: string,
  runtimeApi: string,
): Record<string, string> {
  const env: Record<string, string> = {
    PATH: host.basePath,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    TMPDIR: tmpDir,
    TMP: tmpDir,
    TEMP: tmpDir,
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    LAMBDA_RUNTIME_DIR: bootstrapDir(host, family),
    STRATUS_PRESTART: '1',
  };
  if (family !== 'python' && host.sdkNodeModules) env.NODE_PATH = host.sdkNodeModules;
  return env;
}

/** Per-environment facts the variables depend on. */
export interface EnvironmentFacts {
  runtimeApi: string;
  logStreamName: string;
  tmpDir: string;
  endpoint: string;
}

/**
 * The variables AWS sets, in three layers: defaults a function may override (LANG, PATH,
 * TZ, NODE_PATH, …), then the function's own, then the reserved ones.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
 */
export function buildEnvironment(
  fn: FunctionVersionSpec,
  family: RuntimeFamily,
  host: RuntimeHost,
  facts: EnvironmentFacts,
  runtimeDir: string,
): Record<string, string> {
  const layersNewestFirst = [...fn.layerDirs].reverse();
  const env: Record<string, string> = {
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    PATH: [...layersNewestFirst.map((l) => join(l, 'bin')), host.basePath].join(delimiter),
    LD_LIBRARY_PATH: [
      join(fn.codeDir, 'lib'),
      ...layersNewestFirst.map((l) => join(l, 'lib')),
    ].join(delimiter),
    AWS_ENDPOINT_URL: facts.endpoint,
    TMPDIR: facts.tmpDir,
    TMP: facts.tmpDir,
    TEMP: facts.tmpDir,
  };
  if (family === 'node') {
    const major = process.versions.node.split('.')[0];
    const paths: string[] = [];
    for (const l of layersNewestFirst) {
      paths.push(
        join(l, 'nodejs', `node${major}`, 'node_modules'),
        join(l, 'nodejs', 'node_modules'),
      );
    }
    if (host.sdkNodeModules) paths.push(host.sdkNodeModules);
    env.NODE_PATH = paths.join(delimiter);
  } else if (family === 'python') {
    const minor = fn.runtime.slice('python3.'.length);
    const paths: string[] = [];
    for (const l of layersNewestFirst) {
      paths.push(join(l, 'python', 'lib', `python3.${minor}`, 'site-packages'), join(l, 'python'));
    }
    env.PYTHONPATH = [fn.codeDir, ...paths].join(delimiter);
  }

  Object.assign(env, fn.environment);
  Object.assign(env, reservedVariables(fn, family, facts, fn.codeDir, runtimeDir));
  return env;
}

/** The variables Lambda reserves (a function's own cannot override them). */
export function reservedVariables(
  fn: FunctionVersionSpec,
  family: RuntimeFamily,
  facts: Pick<EnvironmentFacts, 'runtimeApi' | 'logStreamName'>,
  taskRoot: string,
  runtimeDir: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  // An image's entrypoint sets _HANDLER from its CMD (AWS's /lambda-entrypoint.sh).
  if (fn.image === undefined) env._HANDLER = fn.handler;
  env.AWS_REGION = fn.region;
  env.AWS_DEFAULT_REGION = fn.region;
  if (family !== 'provided') env.AWS_EXECUTION_ENV = `AWS_Lambda_${fn.runtime}`;
  env.AWS_LAMBDA_FUNCTION_NAME = fn.functionName;
  env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE = String(fn.memoryMb);
  env.AWS_LAMBDA_FUNCTION_VERSION = fn.version;
  env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  env.AWS_LAMBDA_LOG_GROUP_NAME = fn.logGroupName;
  env.AWS_LAMBDA_LOG_STREAM_NAME = facts.logStreamName;
  env.AWS_ACCESS_KEY_ID = fn.credentials.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY = fn.credentials.secretAccessKey;
  env.AWS_SESSION_TOKEN = fn.credentials.sessionToken;
  env.AWS_LAMBDA_RUNTIME_API = facts.runtimeApi;
  env.LAMBDA_TASK_ROOT = taskRoot;
  env.LAMBDA_RUNTIME_DIR = runtimeDir;
  return env;
}

/** The command that starts a runtime of this family (Stratus's bootstrap, or the zip's). */
export async function launchCommand(
  fn: FunctionVersionSpec,
  family: RuntimeFamily,
  host: RuntimeHost,
): Promise<{ command: string; args: string[]; runtimeDir: string }> {
  switch (family) {
    case 'node':
      return {
        command: host.nodeExecutable,
        args: [host.nodeBootstrap],
        runtimeDir: dirname(host.nodeBootstrap),
      };
    case 'python':
      return {
        command: await host.pythonExecutable(),
        // -u: unbuffered output, so print() reaches the log before the response is posted.
        args: ['-u', host.pythonBootstrap],
        runtimeDir: dirname(host.pythonBootstrap),
      };
    case 'provided': {
      const bootstrap = await findBootstrap(fn);
      return { command: bootstrap, args: [], runtimeDir: dirname(bootstrap) };
    }
    case 'java':
    case 'ruby':
      // Their runtime interface clients live in the runtime images (images/build/).
      throw new LaunchError(
        'Runtime.Unknown',
        `Error: ${fn.runtime} functions run in containers of the ${fn.runtime} runtime image; this Stratus runs functions as host processes (start it with --driver runc or --driver docker)`,
      );
    default: {
      const never: never = family;
      throw new Error(`unknown runtime family ${String(never)}`);
    }
  }
}

/**
 * `provided` runtimes: /var/task/bootstrap, else /opt/bootstrap (the last layer that has
 * one). AWS's messages name the paths inside the sandbox, so these do too.
 */
async function findBootstrap(fn: FunctionVersionSpec): Promise<string> {
  const candidates = [
    join(fn.codeDir, 'bootstrap'),
    ...[...fn.layerDirs].reverse().map((l) => join(l, 'bootstrap')),
  ];
  for (const path of candidates) {
    const s = await stat(path).catch(() => undefined);
    if (!s?.isFile()) continue;
    try {
      await access(path, constants.X_OK);
    } catch {
      const inSandbox = path.startsWith(fn.codeDir) ? '/var/task/bootstrap' : '/opt/bootstrap';
      throw new LaunchError(
        'Runtime.InvalidEntrypoint',
        `Error: fork/exec ${inSandbox}: permission denied`,
      );
    }
    return path;
  }
  throw new LaunchError(
    'Runtime.InvalidEntrypoint',
    "Error: Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
  );
}

/** AWS_LAMBDA_EXEC_WRAPPER: the wrapper script runs first, with the runtime's command line. */
export function applyExecWrapper(
  plan: { command: string; args: string[] },
  env: Record<string, string>,
): { command: string; args: string[] } {
  const wrapper = env.AWS_LAMBDA_EXEC_WRAPPER;
  if (!wrapper) return plan;
  return { command: wrapper, args: [plan.command, ...plan.args] };
}
