/**
 * Checks Lambda makes beyond the model's own constraints (which the gateway already
 * enforced: name patterns, memory ≥ 128, timeout ≥ 1, /tmp 512–10,240 MB, ...).
 * Quotas: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
import type { Runtime } from '../../api/lambda/types.js';
import { invalidParameter, validationException } from './errors.js';

export const MAX_MEMORY_MB = 10_240;
export const MAX_TIMEOUT_SECONDS = 900;
export const MAX_ENV_BYTES = 4096;
export const MAX_LAYERS = 5;
export const MAX_TAGS = 50;
export const MAX_FUNCTION_NAME = 64;

/** Runtimes Stratus runs: on the host's Node, the host's Python 3, or a `bootstrap`. */
export const SUPPORTED_RUNTIMES: ReadonlySet<string> = new Set<Runtime>([
  'nodejs18.x',
  'nodejs20.x',
  'nodejs22.x',
  'nodejs24.x',
  'python3.9',
  'python3.10',
  'python3.11',
  'python3.12',
  'python3.13',
  'python3.14',
  'provided.al2',
  'provided.al2023',
  // In containers of their runtime images only (the process driver says so at INIT).
  'java8.al2',
  'java11',
  'java17',
  'java21',
  'java25',
  'ruby3.2',
  'ruby3.3',
  'ruby3.4',
]);

/**
 * Runtimes AWS no longer accepts for new or updated functions, with the runtime AWS
 * recommends instead (its error names it). Lambda's deprecation table:
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html#runtimes-deprecated
 */
export const DEPRECATED_RUNTIMES: Readonly<Record<string, Runtime>> = {
  nodejs: 'nodejs22.x',
  'nodejs4.3': 'nodejs22.x',
  'nodejs4.3-edge': 'nodejs22.x',
  'nodejs6.10': 'nodejs22.x',
  'nodejs8.10': 'nodejs22.x',
  'nodejs10.x': 'nodejs22.x',
  'nodejs12.x': 'nodejs18.x',
  'nodejs14.x': 'nodejs20.x',
  'nodejs16.x': 'nodejs22.x',
  'python2.7': 'python3.12',
  'python3.6': 'python3.12',
  'python3.7': 'python3.12',
  'python3.8': 'python3.12',
  java8: 'java21',
  'dotnetcore1.0': 'dotnet8',
  'dotnetcore2.0': 'dotnet8',
  'dotnetcore2.1': 'dotnet8',
  'dotnetcore3.1': 'dotnet6',
  dotnet6: 'dotnet8',
  'go1.x': 'provided.al2023',
  'ruby2.5': 'ruby3.2',
  'ruby2.7': 'ruby3.2',
  provided: 'provided.al2023',
};

/**
 * The runtime of a Zip function: required with the handler, not deprecated, and one Stratus
 * can run (a runtime AWS has but Stratus cannot run is refused up front, never faked).
 */
export function checkRuntime(runtime: string | undefined, handler: string | undefined): void {
  if (runtime === undefined || handler === undefined) {
    throw invalidParameter(
      'Runtime and Handler are mandatory parameters for functions created with deployment packages.',
    );
  }
  const upgrade = DEPRECATED_RUNTIMES[runtime];
  if (upgrade !== undefined) {
    throw invalidParameter(
      `The runtime parameter of ${runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use the new runtime (${upgrade}) while creating or updating functions.`,
    );
  }
  if (!SUPPORTED_RUNTIMES.has(runtime)) {
    throw invalidParameter(
      `The runtime ${runtime} is valid in AWS Lambda but Stratus cannot run it yet. Runtimes Stratus runs: ${[...SUPPORTED_RUNTIMES].join(', ')}.`,
    );
  }
}

/** Memory above 10,240 MB (the model allows more, for other compute types). */
export function checkMemory(memorySize: number | undefined): void {
  if (memorySize !== undefined && memorySize > MAX_MEMORY_MB) {
    throw invalidParameter(
      `'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to ${MAX_MEMORY_MB}`,
    );
  }
}

export function checkTimeout(timeout: number | undefined): void {
  if (timeout !== undefined && timeout > MAX_TIMEOUT_SECONDS) {
    throw validationException([
      `Value '${timeout}' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to ${MAX_TIMEOUT_SECONDS}`,
    ]);
  }
}

/**
 * Keys Lambda sets itself and refuses from configuration.
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
 */
const RESERVED_ENV_KEYS = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

/**
 * At most 4 KB, measured as AWS measures it: the compact JSON of the map, which the error
 * quotes ("String measured: {...}").
 */
export function checkEnvironment(vars: Record<string, string> | undefined): void {
  if (!vars) return;
  const reserved = Object.keys(vars).filter((k) => RESERVED_ENV_KEYS.has(k));
  if (reserved.length) {
    throw invalidParameter(
      `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
    );
  }
  const measured = JSON.stringify(vars);
  if (Buffer.byteLength(measured, 'utf8') > MAX_ENV_BYTES) {
    throw invalidParameter(
      `Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ${measured}`,
    );
  }
}

/** Plain names are limited to 64 characters (ARN forms to the model's 140). */
export function checkFunctionName(given: string, name: string): void {
  if (given === name && name.length > MAX_FUNCTION_NAME) {
    throw invalidParameter(
      `1 validation error detected: Value '${name}' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to ${MAX_FUNCTION_NAME}`,
    );
  }
}

export function checkTagCount(tags: Record<string, string>): void {
  if (Object.keys(tags).length > MAX_TAGS) {
    throw invalidParameter('Number of tags exceeds resource tag limit.');
  }
}

/** SnapStart applies to published versions of Java, Python 3.12+ and .NET 8 only. */
const SNAPSTART_RUNTIMES = new Set([
  'python3.12',
  'python3.13',
  'python3.14',
  'java11',
  'java17',
  'java21',
  'java25',
  'dotnet8',
]);

export function checkSnapStart(applyOn: string | undefined, runtime: string): void {
  if (applyOn === 'PublishedVersions' && !SNAPSTART_RUNTIMES.has(runtime)) {
    throw invalidParameter(`${runtime} is not supported for SnapStart enabled functions.`);
  }
}

/** Features whose absence Stratus states instead of pretending to honour them. */
export function unsupported(what: string): never {
  throw invalidParameter(`${what} Stratus does not support this yet.`);
}
