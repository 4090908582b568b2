/**
 * Shared by the execution tests: function code written to temporary directories, a real
 * CloudWatch Logs store to read the function logs back from, spec builders, and a harness
 * of process-driver executors that the executor test files each open for themselves.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openStorage, type Storage } from '../../src/storage/index.js';
import { ProcessDriver } from '../../src/runtime/process/driver.js';
import { logsOperations, type LogsProviderOps } from '../../src/services/logs/provider.js';
import { LogsSink } from '../../src/services/logs/sink.js';
import type { RequestContext } from '../../src/shared/context.js';
import {
  createExecutor,
  type ExecutorOptions,
  type LambdaExecutor,
} from '../../src/services/lambda/execution/executor.js';
import type {
  FunctionVersionSpec,
  InvokeOutcome,
  InvokeRequest,
} from '../../src/services/lambda/execution/types.js';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

export class Workspace {
  private constructor(readonly root: string) {}

  static async create(): Promise<Workspace> {
    return new Workspace(await mkdtemp(join(tmpdir(), 'stratus-exec-test-')));
  }

  /** Writes files (path → content; a leading '#!' line makes the file executable). */
  async dir(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(this.root, name);
    for (const [path, content] of Object.entries(files)) {
      const file = join(dir, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
      if (content.startsWith('#!')) await chmod(file, 0o755);
    }
    await mkdir(dir, { recursive: true });
    return dir;
  }

  async remove(): Promise<void> {
    await rm(this.root, { recursive: true, force: true });
  }
}

let fnCounter = 0;

export function spec(
  codeDir: string,
  overrides: Partial<FunctionVersionSpec> = {},
): FunctionVersionSpec {
  const functionName = overrides.functionName ?? `fn-${++fnCounter}`;
  const version = overrides.version ?? '$LATEST';
  return {
    account: ACCOUNT,
    region: REGION,
    functionName,
    functionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${functionName}:${version}`,
    version,
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    memoryMb: 256,
    timeoutSeconds: 3,
    ephemeralStorageMb: 512,
    environment: {},
    codeDir,
    layerDirs: [],
    revisionId: randomUUID(),
    credentials: {
      accessKeyId: 'ASIAEXAMPLEEXAMPLE01',
      secretAccessKey: 'secret/example/key',
      sessionToken: 'session-token-example',
    },
    logGroupName: `/aws/lambda/${functionName}`,
    ...overrides,
  };
}

export function request(payload: unknown = {}, extra: Partial<InvokeRequest> = {}): InvokeRequest {
  return {
    requestId: randomUUID(),
    payload: Buffer.from(JSON.stringify(payload)),
    tailLogs: true,
    ...extra,
  };
}

/** A real CloudWatch Logs store (ephemeral SQLite) behind the LogSink the executor uses. */
export class LogsFixture {
  private constructor(
    private readonly storage: Storage,
    readonly sink: LogsSink,
    private readonly provider: LogsProviderOps,
  ) {}

  static async open(): Promise<LogsFixture> {
    const storage = await openStorage({ stateDir: '', ephemeral: true });
    return new LogsFixture(
      storage,
      new LogsSink(storage.store),
      logsOperations({ store: storage.store, now: Date.now }),
    );
  }

  private ctx(): RequestContext {
    return {
      requestId: 'test',
      account: ACCOUNT,
      region: REGION,
      accessKeyId: 'test',
      principal: { arn: `arn:aws:iam::${ACCOUNT}:root`, userId: ACCOUNT },
    };
  }

  async streams(group: string): Promise<string[]> {
    const out = await this.provider.DescribeLogStreams({ logGroupName: group }, this.ctx());
    return (out.logStreams ?? []).map((s) => s.logStreamName ?? '');
  }

  async messages(group: string, stream: string): Promise<string[]> {
    const out = await this.provider.GetLogEvents(
      { logGroupName: group, logStreamName: stream, startFromHead: true },
      this.ctx(),
    );
    return (out.events ?? []).map((e) => e.message ?? '');
  }

  close(): Promise<void> {
    return this.storage.close();
  }
}

/** An outcome's payload parsed as JSON. */
export const json = (o: InvokeOutcome): unknown => JSON.parse(o.payload.toString('utf8'));
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A workspace, a logs store and the executors made from them (process driver, no pre-started
 * runtimes unless asked), all stopped and removed by close().
 */
export interface ExecutorHarness {
  ws: Workspace;
  logs: LogsFixture;
  /** Where the executors keep their environments (private /tmp and owner files). */
  tmpRoot: string;
  executor(opts?: Partial<ExecutorOptions>): LambdaExecutor;
  /** Every log stream of a group and its messages, after flushing the executor's logs. */
  logOf(ex: LambdaExecutor, group: string): Promise<{ stream: string; lines: string[] }[]>;
  close(): Promise<void>;
}

export async function openExecutorHarness(): Promise<ExecutorHarness> {
  const ws = await Workspace.create();
  const logs = await LogsFixture.open();
  const tmpRoot = join(ws.root, 'envs');
  const executors: LambdaExecutor[] = [];
  return {
    ws,
    logs,
    tmpRoot,
    executor(opts = {}) {
      const ex = createExecutor({
        driver: new ProcessDriver(),
        logs: logs.sink,
        endpoint: () => 'http://127.0.0.1:4566',
        tmpRoot,
        prestart: { node: 0, python: 0 },
        ...opts,
      });
      executors.push(ex);
      return ex;
    },
    async logOf(ex, group) {
      await ex.flushLogs();
      const out = [];
      for (const stream of await logs.streams(group)) {
        out.push({ stream, lines: await logs.messages(group, stream) });
      }
      return out;
    },
    async close() {
      await Promise.all(executors.map((e) => e.stop()));
      await logs.close();
      await ws.remove();
    },
  };
}

/**
 * Opens a harness for the test file (before) and closes it (after). What it returns is
 * usable from any test or hook: it reads the harness opened for the file at call time.
 */
export function useExecutorHarness(): Pick<ExecutorHarness, 'executor' | 'logOf'> & {
  readonly ws: Workspace;
  readonly tmpRoot: string;
} {
  let h: ExecutorHarness | undefined;
  const current = () => {
    if (!h) throw new Error('the executor harness is used before it opened');
    return h;
  };
  before(async () => {
    h = await openExecutorHarness();
  });
  after(() => current().close());
  return {
    get ws() {
      return current().ws;
    },
    get tmpRoot() {
      return current().tmpRoot;
    },
    executor: (opts) => current().executor(opts),
    logOf: (ex, group) => current().logOf(ex, group),
  };
}

/**
 * A stand-in STS endpoint answering GetCallerIdentity as `assumed-role/role/<session>`,
 * recording the headers of every request (to check the credentials a function signed with).
 */
export async function fakeSts(
  session: string,
): Promise<{ url: string; seen: IncomingHttpHeaders[]; close(): void }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/xml' });
    res.end(
      `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:sts::${ACCOUNT}:assumed-role/role/${session}</Arn><UserId>AROAEXAMPLE:${session}</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    );
  });
  await listen(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => server.close(),
  };
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}

/** Waits until `n` pre-started runtimes have recorded their pids; returns those pids. */
export async function waitForPrestart(root: string, n: number): Promise<Set<number>> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const pids = new Set<number>();
    for (const d of await readdir(root).catch(() => [] as string[])) {
      const owner = await readFile(join(root, d, 'owner'), 'utf8').catch(() => '');
      if (owner) pids.add(Number(owner.trim().split(' ')[1]));
    }
    if (pids.size >= n) return pids;
    await sleep(50);
  }
  throw new Error('pre-started runtimes did not come up');
}
