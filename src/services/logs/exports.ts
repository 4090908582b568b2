/**
 * Export tasks: a group's events in a time range, written to an S3 bucket of Stratus in
 * AWS's layout, `<prefix>/<taskId>/<stream>/000000.gz` (gzip, one `<ISO time> <message>`
 * line per event), after AWS's `<prefix>/aws-logs-write-test` probe object.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/S3ExportTasks.html
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateExportTask.html
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  InvalidOperationException,
  LimitExceededException,
  ResourceNotFoundException,
} from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  CancelExportTaskRequest,
  CreateExportTaskRequest,
  CreateExportTaskResponse,
  DescribeExportTasksRequest,
  DescribeExportTasksResponse,
  ExportTask,
  ExportTaskStatusCode,
} from '../../api/logs/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataStore } from '../../storage/types.js';
import type { S3ObjectWriter } from '../s3/object-source.js';
import { groupNotFound, invalid, type LogsDeps, pageList, scopeOf } from './common.js';
import {
  childPrefix,
  eventPages,
  groupKey,
  type GroupRecord,
  GROUPS,
  type Scope,
  scopePrefix,
  streamKey,
  type StreamRecord,
  STREAMS,
} from './store.js';

export const EXPORT_TASKS = 'logs_export_tasks';

/** A stored task and the caller it writes for (S3 checks the bucket's owner). */
interface ExportRecord {
  task: ExportTask & { taskId: string; status: { code: ExportTaskStatusCode; message?: string } };
  account: string;
  region: string;
  /** CreateExportTask's logStreamNamePrefix (ExportTask does not report it). */
  streamPrefix?: string;
}

type ExportOps = Pick<
  LogsOperations,
  'CreateExportTask' | 'DescribeExportTasks' | 'CancelExportTask'
>;

const DESCRIBE_MAX = 50;
/** AWS's default `destinationPrefix`. */
const DEFAULT_PREFIX = 'exportedlogs';
const ACTIVE: ReadonlySet<ExportTaskStatusCode> = new Set(['PENDING', 'RUNNING']);

const taskKey = (scope: Scope, taskId: string): string => scopePrefix(scope) + taskId;
const taskNotFound = (): ResourceNotFoundException =>
  new ResourceNotFoundException('The specified export task does not exist.');

/** CloudWatch Logs itself writing to S3 for an account (S3 checks the bucket's owner). */
export function serviceContext(account: string, region: string): RequestContext {
  return {
    requestId: randomUUID(),
    account,
    region,
    accessKeyId: 'logs.amazonaws.com',
    principal: { arn: 'logs.amazonaws.com', userId: 'logs.amazonaws.com' },
  };
}

/** Runs export tasks in the background, one at a time per task; resumes unfinished ones. */
export class ExportRunner {
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly store: MetadataStore,
    private readonly s3: S3ObjectWriter,
    private readonly now: () => number,
    private readonly warn: (msg: string, err: unknown) => void = () => undefined,
  ) {}

  /** The probe object AWS writes first: a bucket that refuses it fails CreateExportTask. */
  async probe(ctx: RequestContext, bucket: string, prefix: string): Promise<void> {
    const res = await this.s3.write(
      ctx,
      { bucket, key: `${prefix}/aws-logs-write-test` },
      Buffer.from('Permission Check Successful'),
      'text/plain',
    );
    if (!res.ok) {
      throw invalid(
        res.code === 'NoSuchBucket'
          ? 'The given bucket does not exist. Please make sure the bucket is valid.'
          : `PutObject call on the given bucket failed (${res.code}). Please check if CloudWatch Logs has been granted permission to perform this operation.`,
      );
    }
  }

  start(key: string): void {
    const p = this.run(key).catch((err: unknown) => this.warn('export task failed', err));
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  /** Restarts the tasks a stop left PENDING or RUNNING. */
  async resume(): Promise<void> {
    for (const { key, value } of await this.store.list<ExportRecord>(EXPORT_TASKS, {})) {
      if (ACTIVE.has(value.task.status.code)) this.start(key);
    }
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  /** Moves a task to `code` unless it was cancelled meanwhile; false when it was. */
  private async setStatus(
    key: string,
    code: ExportTaskStatusCode,
    message: string,
  ): Promise<boolean> {
    return this.store.transaction(async (tx) => {
      const rec = await tx.get<ExportRecord>(EXPORT_TASKS, key);
      if (!rec || !ACTIVE.has(rec.task.status.code)) return false;
      rec.task.status = { code, message };
      if (!ACTIVE.has(code))
        rec.task.executionInfo = { ...rec.task.executionInfo, completionTime: this.now() };
      await tx.put(EXPORT_TASKS, key, rec);
      return true;
    });
  }

  private async run(key: string): Promise<void> {
    const rec = await this.store.get<ExportRecord>(EXPORT_TASKS, key);
    if (!rec || !(await this.setStatus(key, 'RUNNING', 'Started'))) return;
    const { task } = rec;
    const scope = { account: rec.account, region: rec.region };
    const ctx = serviceContext(rec.account, rec.region);
    const gKey = groupKey(scope, task.logGroupName ?? '');
    try {
      const streams = await this.store.list<StreamRecord>(STREAMS, {
        prefix: childPrefix(gKey) + (rec.streamPrefix ?? ''),
      });
      for (const { value: s } of streams) {
        const lines: string[] = [];
        const sKey = streamKey(gKey, s.name);
        // "to … Events with a timestamp later than this time are not exported."
        for await (const page of eventPages(this.store, sKey, task.from ?? 0, (task.to ?? 0) + 1)) {
          for (const ev of page)
            lines.push(`${new Date(ev.timestamp).toISOString()} ${ev.message}\n`);
        }
        if (lines.length === 0) continue;
        const current = await this.store.get<ExportRecord>(EXPORT_TASKS, key);
        if (!current || current.task.status.code !== 'RUNNING') return;
        const res = await this.s3.write(
          ctx,
          {
            bucket: task.destination ?? '',
            key: `${task.destinationPrefix}/${task.taskId}/${s.name}/000000.gz`,
          },
          gzipSync(lines.join('')),
          'application/gzip',
        );
        if (!res.ok) {
          await this.setStatus(key, 'FAILED', `${res.code}: ${res.message}`);
          return;
        }
      }
      await this.setStatus(key, 'COMPLETED', 'Completed successfully');
    } catch (err) {
      await this.setStatus(key, 'FAILED', err instanceof Error ? err.message : String(err));
    }
  }
}

export function exportOperations(deps: LogsDeps): ExportOps {
  const { store } = deps;
  const runner = (): ExportRunner => {
    if (!deps.exports) throw invalid('Export tasks need the S3 service, which is not running.');
    return deps.exports;
  };
  return {
    async CreateExportTask(
      input: CreateExportTaskRequest,
      ctx: RequestContext,
    ): Promise<CreateExportTaskResponse> {
      const scope = scopeOf(ctx);
      if (input.from > input.to) {
        throw invalid('The from time must not be later than the to time.');
      }
      if (!(await store.get<GroupRecord>(GROUPS, groupKey(scope, input.logGroupName)))) {
        throw groupNotFound();
      }
      const prefix =
        (input.destinationPrefix ?? DEFAULT_PREFIX).replace(/^\/+|\/+$/g, '') || DEFAULT_PREFIX;
      const exports = runner();
      await exports.probe(ctx, input.destination, prefix);
      const taskId = randomUUID();
      const record: ExportRecord = {
        account: ctx.account,
        region: ctx.region,
        task: {
          taskId,
          logGroupName: input.logGroupName,
          from: input.from,
          to: input.to,
          destination: input.destination,
          destinationPrefix: prefix,
          status: { code: 'PENDING', message: 'Pending' },
          executionInfo: { creationTime: deps.now() },
        },
      };
      if (input.taskName !== undefined) record.task.taskName = input.taskName;
      if (input.logStreamNamePrefix !== undefined) {
        record.streamPrefix = input.logStreamNamePrefix;
      }
      const key = taskKey(scope, taskId);
      await store.transaction(async (tx) => {
        // "Each account can only have one active (RUNNING or PENDING) export task at a time."
        for (const { value } of await tx.list<ExportRecord>(EXPORT_TASKS, {
          prefix: scopePrefix(scope),
        })) {
          if (ACTIVE.has(value.task.status.code)) {
            throw new LimitExceededException('Resource limit exceeded.');
          }
        }
        await tx.put(EXPORT_TASKS, key, record);
      });
      exports.start(key);
      return { taskId };
    },

    async DescribeExportTasks(
      input: DescribeExportTasksRequest,
      ctx: RequestContext,
    ): Promise<DescribeExportTasksResponse> {
      const scope = scopeOf(ctx);
      let tasks: ExportTask[];
      if (input.taskId !== undefined) {
        const rec = await store.get<ExportRecord>(EXPORT_TASKS, taskKey(scope, input.taskId));
        tasks = rec ? [rec.task] : [];
      } else {
        const all = await store.list<ExportRecord>(EXPORT_TASKS, { prefix: scopePrefix(scope) });
        tasks = all
          .map((i) => i.value.task)
          .sort(
            (a, b) =>
              (b.executionInfo?.creationTime ?? 0) - (a.executionInfo?.creationTime ?? 0) ||
              (a.taskId ?? '').localeCompare(b.taskId ?? ''),
          );
      }
      if (input.statusCode !== undefined) {
        tasks = tasks.filter((t) => t.status?.code === input.statusCode);
      }
      const page = pageList(
        tasks,
        (t) => t.taskId ?? '',
        input.nextToken,
        input.limit,
        DESCRIBE_MAX,
      );
      const out: DescribeExportTasksResponse = { exportTasks: page.items };
      if (page.nextToken !== undefined) out.nextToken = page.nextToken;
      return out;
    },

    async CancelExportTask(input: CancelExportTaskRequest, ctx: RequestContext): Promise<void> {
      const key = taskKey(scopeOf(ctx), input.taskId);
      await store.transaction(async (tx) => {
        const rec = await tx.get<ExportRecord>(EXPORT_TASKS, key);
        if (!rec) throw taskNotFound();
        if (!ACTIVE.has(rec.task.status.code)) {
          throw new InvalidOperationException('The specified export task has already finished');
        }
        rec.task.status = { code: 'CANCELLED', message: 'Cancelled by user' };
        rec.task.executionInfo = { ...rec.task.executionInfo, completionTime: deps.now() };
        await tx.put(EXPORT_TASKS, key, rec);
      });
    },
  };
}
