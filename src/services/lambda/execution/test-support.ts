/**
 * Shared by the execution tests: function code written to temporary directories, a real
 * CloudWatch Logs store to read the function logs back from, and spec builders.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openStorage, type Storage } from '../../../storage/index.js';
import { LogsProvider } from '../../logs/provider.js';
import { LogsSink } from '../../logs/sink.js';
import type { RequestContext } from '../../../shared/context.js';
import type { FunctionVersionSpec, InvokeRequest } from './types.js';

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
    private readonly provider: LogsProvider,
  ) {}

  static async open(): Promise<LogsFixture> {
    const storage = await openStorage({ stateDir: '', ephemeral: true });
    return new LogsFixture(storage, new LogsSink(storage.store), new LogsProvider(storage.store));
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
