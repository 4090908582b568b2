/**
 * Runs a job attempt as one container on the `containers` link, its image resolved from
 * Stratus's ECR, its output in CloudWatch Logs (`/aws/batch/job`, one event per line).
 *
 * A minimal adapter until the ECS task runner (src/runtime/) lands: swap this file for a
 * one-container task on the runner behind JobExecutor.
 *
 * Volumes: a `host.sourcePath` volume is bind-mounted at its mount points; a volume without
 * one is a scratch tmpfs. AWS's "CannotPullContainerError" is the statusReason when the
 * image is not in ECR, and a driver that runs no images (the process driver) fails the
 * attempt with the reason rather than pretending.
 */
import type { LogSink } from '../../events/logs.js';
import {
  ImageNotFoundError,
  UnsupportedSpecError,
  type BindMount,
  type Container,
  type ContainerDriver,
  type ImageSource,
  type TmpfsMount,
} from '../../runtime/container.js';
import type { Logger } from '../../shared/log.js';
import { LOG_GROUP, type AttemptSpec, type AttemptEvents, type JobExecutor } from './executor.js';

const STOP_GRACE_MS = 30_000;
const SCRATCH_MB = 1024;

export class ContainerExecutor implements JobExecutor {
  private readonly live = new Set<Container>();

  constructor(
    private readonly driver: ContainerDriver,
    private readonly images: ImageSource,
    private readonly logs: LogSink,
    private readonly log: Logger,
  ) {}

  launch(spec: AttemptSpec, events: AttemptEvents): { stop(): Promise<void> } {
    let container: Container | undefined;
    let stopRequested = false;
    const run = async (): Promise<void> => {
      const { job } = spec;
      const scope = { account: job.account, region: job.region };
      if (!this.driver.capabilities.images) {
        events.exited({
          statusReason: `CannotStartContainerError: the ${this.driver.name} driver runs no images; start Stratus with --driver runc or docker`,
        });
        return;
      }
      let image;
      try {
        image = await this.images.resolve(job.container.image ?? '', job.account, job.region);
      } catch (err) {
        const why = err instanceof ImageNotFoundError ? err.reason : String(err);
        events.exited({
          statusReason: `CannotPullContainerError: pull image manifest has been retried 1 time(s): ${job.container.image ?? ''}: ${why}`,
        });
        return;
      }
      const lines = new LineSink(this.logs, scope, spec.logStreamName, (e) =>
        this.log.warn('batch job log append failed', { error: String(e) }),
      );
      const { mounts, tmpfs } = volumesOf(job.container);
      try {
        container = await this.driver.create(
          {
            name: `batch-${job.jobId}`,
            root: { kind: 'image', image },
            command: job.container.command,
            env: environmentOf(spec),
            user: job.container.user,
            readonlyRoot: job.container.readonlyRootFilesystem,
            mounts,
            tmpfs,
            resources: {
              cpus: job.milliVcpus / 1000,
              memoryMb: job.memoryMib,
            },
            network: { mode: 'private' },
            labels: {
              'dev.stratus.service': 'batch',
              'dev.stratus.batch.job': job.jobId,
            },
          },
          { onStdout: (c) => lines.write(c), onStderr: (c) => lines.write(c) },
        );
        this.live.add(container);
        await container.start();
      } catch (err) {
        const why = err instanceof UnsupportedSpecError ? err.message : String(err);
        if (container) await this.remove(container);
        events.exited({ statusReason: `CannotStartContainerError: ${why}` });
        return;
      }
      events.running();
      if (stopRequested) void container.stop(STOP_GRACE_MS);
      const exit = await container.wait();
      await lines.close();
      await this.remove(container);
      events.exited({
        exitCode: exit.code,
        reason: exit.oomKilled
          ? 'OutOfMemoryError: Container killed due to memory usage'
          : undefined,
        statusReason: 'Essential container in task exited',
      });
    };
    run().catch((err: unknown) => {
      this.log.error('batch attempt failed', { job: spec.job.jobId, error: String(err) });
      events.exited({ statusReason: `CannotStartContainerError: ${String(err)}` });
    });
    return {
      stop: async () => {
        stopRequested = true;
        if (container) await container.stop(STOP_GRACE_MS).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.live].map((c) => c.stop(0).catch(() => undefined)));
  }

  private async remove(c: Container): Promise<void> {
    this.live.delete(c);
    await c
      .remove()
      .catch((e: unknown) => this.log.warn('batch container remove failed', { error: String(e) }));
  }
}

/** The variables AWS sets in every job's container (over the job's own). */
function environmentOf(spec: AttemptSpec): Record<string, string> {
  const { job } = spec;
  const env: Record<string, string> = {};
  for (const kv of job.container.environment ?? []) {
    if (kv.name !== undefined) env[kv.name] = kv.value ?? '';
  }
  Object.assign(env, {
    AWS_BATCH_JOB_ID: job.jobId,
    AWS_BATCH_JQ_NAME: spec.queueName,
    AWS_BATCH_CE_NAME: spec.environmentName,
    AWS_BATCH_JOB_ATTEMPT: String(spec.attempt),
    AWS_REGION: job.region,
    AWS_DEFAULT_REGION: job.region,
  });
  if (job.array?.index !== undefined) {
    env.AWS_BATCH_JOB_ARRAY_INDEX = String(job.array.index);
    env.AWS_BATCH_JOB_ARRAY_SIZE = String(job.array.size);
  }
  return env;
}

function volumesOf(c: AttemptSpec['job']['container']): {
  mounts: BindMount[];
  tmpfs: TmpfsMount[];
} {
  const mounts: BindMount[] = [];
  const tmpfs: TmpfsMount[] = [];
  const volumes = new Map((c.volumes ?? []).map((v) => [v.name ?? '', v]));
  for (const m of c.mountPoints ?? []) {
    if (m.containerPath === undefined) continue;
    const source = volumes.get(m.sourceVolume ?? '')?.host?.sourcePath;
    if (source !== undefined) {
      mounts.push({ source, target: m.containerPath, readonly: m.readOnly === true });
    } else {
      tmpfs.push({ target: m.containerPath, sizeMb: SCRATCH_MB });
    }
  }
  return { mounts, tmpfs };
}

/** Container output as log events, one per line, appended in order. */
class LineSink {
  private partial = '';
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly logs: LogSink,
    private readonly scope: { account: string; region: string },
    private readonly stream: string,
    private readonly onError: (e: unknown) => void,
  ) {}

  write(chunk: Buffer): void {
    const text = this.partial + chunk.toString('utf8');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    this.append(parts);
  }

  async close(): Promise<void> {
    if (this.partial !== '') this.append([this.partial]);
    this.partial = '';
    await this.chain;
  }

  private append(lines: string[]): void {
    if (lines.length === 0) return;
    const timestamp = Date.now();
    const events = lines.map((message) => ({ timestamp, message }));
    this.chain = this.chain
      .then(() => this.logs.append(this.scope, LOG_GROUP, this.stream, events))
      .catch(this.onError);
  }
}
