/**
 * The boundary between Lambda's invoke path (throttling, versions, async queue, meters)
 * and execution (environments, the Runtime API, bootstraps, drivers).
 */

/** Everything execution needs to know about one published version (or $LATEST). */
export interface FunctionVersionSpec {
  account: string;
  region: string;
  functionName: string;
  /** Qualified ARN of the version being run, e.g. arn:aws:lambda:us-east-1:0…:function:f:$LATEST */
  functionArn: string;
  /** '$LATEST' or '1', '2', … */
  version: string;
  /** The runtime and handler of a Zip function ('' for an image function). */
  runtime: string;
  handler: string;
  /** PackageType Image: the image that runs (its own entrypoint is the runtime). */
  image?: FunctionImageSpec;
  memoryMb: number;
  timeoutSeconds: number;
  ephemeralStorageMb: number;
  environment: Record<string, string>;
  /** Extracted deployment package (LAMBDA_TASK_ROOT; '' for an image function). Read-only to execution. */
  codeDir: string;
  /** Extracted layers in the order given; later ones win where paths collide under /opt. */
  layerDirs: string[];
  /** Identifies this code + configuration: environments of another revision are never reused. */
  revisionId: string;
  /** Credentials of the function's execution role, handed to the environment. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  logGroupName: string;
}

/** An image function's image, pinned by digest, with its ImageConfig overrides. */
export interface FunctionImageSpec {
  /** `<acct>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:…` */
  resolvedUri: string;
  entryPoint?: string[];
  command?: string[];
  workingDirectory?: string;
}

export interface InvokeRequest {
  requestId: string;
  /** The ARN as the caller named the function (unqualified, alias, version): the
   *  context's invokedFunctionArn. Defaults to the version's qualified ARN. */
  invokedFunctionArn?: string;
  payload: Buffer;
  /** Base64 JSON from X-Amz-Client-Context, passed through as Lambda-Runtime-Client-Context. */
  clientContext?: string;
  cognitoIdentity?: string;
  traceId?: string;
  /** Collect the invocation's log text for `LogType: Tail`. */
  tailLogs: boolean;
  /**
   * Receives the body of a streamed answer (`Lambda-Runtime-Function-Response-Mode:
   * streaming`) chunk by chunk as the runtime sends it; the outcome's payload is then
   * empty on success. Unset: streamed answers are buffered into the payload like others.
   */
  onChunk?: (chunk: Buffer) => void;
}

export type InvokeOutcomeKind =
  | 'success'
  /** The handler reported an error through the Runtime API (…/invocation/{id}/error). */
  | 'function-error'
  /** Killed after timeoutSeconds: "Task timed out after N.NN seconds". */
  | 'timeout'
  /** The runtime process exited or crashed during the invocation. */
  | 'runtime-exit'
  /** Init failed (…/init/error, or exit during init). */
  | 'init-error';

export interface InvokeOutcome {
  kind: InvokeOutcomeKind;
  /** The response payload, or AWS's error JSON ({errorMessage, errorType, stackTrace?}).
   *  Empty on success when the answer was streamed to `InvokeRequest.onChunk`. */
  payload: Buffer;
  /** Last 4 KB of the invocation's log (START … REPORT), when tailLogs was asked. */
  logTail?: string;
  durationMs: number;
  /** Rounded up to the next ms; includes init on a cold start (AWS bills INIT for these runtimes). */
  billedDurationMs: number;
  /** Set on a cold start. */
  initDurationMs?: number;
  maxMemoryUsedMb: number;
}

export interface Executor {
  invoke(fn: FunctionVersionSpec, req: InvokeRequest): Promise<InvokeOutcome>;
  /** Environments of this function (all versions) are shut down: code or config changed. */
  retire(account: string, region: string, functionName: string): Promise<void>;
  /** Number of environments (busy + idle) alive, for tests and the health endpoint. */
  environmentCount(): number;
  /** Appends every log line written so far to CloudWatch Logs (where it batches them). */
  flushLogs?(): Promise<void>;
  stop(): Promise<void>;
}
