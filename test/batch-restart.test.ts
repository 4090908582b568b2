/**
 * kill -9 of Stratus (`--driver runc`) with 20 Batch jobs RUNNING and 1,000 RUNNABLE behind
 * them: after a restart on the same state directory every job ends SUCCEEDED exactly once.
 * The 20 lost attempts end as AWS ends an attempt whose instance went away ("Host EC2
 * (instance …) terminated.") and are retried (attempts: 2); the queued ones run as if
 * nothing happened. Skipped where runc cannot run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchClient,
  DescribeJobsCommand,
  ListJobsCommand,
  SubmitJobCommand,
  type JobDetail,
} from '@aws-sdk/client-batch';
import { runcSkipReason } from '../src/runtime/runc/test-support.js';
import { createEnvironment, createQueue, shellDefinition, until } from './helpers/batch.js';
import { pushBusybox } from './helpers/busybox-ecr.js';
import { spawnServer } from './helpers/process.js';
import { clientConfig } from './helpers/server.js';

const skip = runcSkipReason();
const RUNNING = 20;
const QUEUED = 1000;

async function countByStatus(batch: BatchClient, queue: string, status: 'RUNNING' | 'SUCCEEDED') {
  let n = 0;
  let nextToken: string | undefined;
  do {
    const page = await batch.send(
      new ListJobsCommand({ jobQueue: queue, jobStatus: status, maxResults: 1000, nextToken }),
    );
    n += page.jobSummaryList?.length ?? 0;
    nextToken = page.nextToken;
  } while (nextToken);
  return n;
}

test(
  `kill -9 with ${RUNNING} jobs running and ${QUEUED} queued: every job succeeds once after restart`,
  { skip: skip ?? false, timeout: 1_800_000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'stratus-batch-restart-'));
    const state = join(work, 'state');
    const env = {
      STRATUS_DRIVER: 'runc',
      STRATUS_BATCH_VCPUS: String(RUNNING),
    };
    const ids: string[] = [];
    const sleepers = new Set<string>();
    try {
      const first = await spawnServer(['--state-dir', state], env);
      let batch = new BatchClient(clientConfig(first.endpoint));
      try {
        const image = (await pushBusybox(first.endpoint, 'batch/restart')).reference;
        const ce = await createEnvironment(batch, 'ce', RUNNING);
        const queue = await createQueue(batch, 'q', 1, [ce]);
        // The first attempt of a sleeper outlives the server; later attempts end at once.
        const def = await shellDefinition(batch, 'work', image, {
          retryStrategy: { attempts: 2 },
        });
        const submit = async (name: string, script: string) =>
          (
            await batch.send(
              new SubmitJobCommand({
                jobName: name,
                jobQueue: queue,
                jobDefinition: def,
                parameters: { script },
              }),
            )
          ).jobId ?? '';
        for (let i = 0; i < RUNNING; i++) {
          const id = await submit(
            `sleeper-${i}`,
            '[ "$AWS_BATCH_JOB_ATTEMPT" = 1 ] && sleep 300; true',
          );
          ids.push(id);
          sleepers.add(id);
        }
        for (let i = 0; i < QUEUED; i++) ids.push(await submit(`quick-${i}`, 'true'));
        await until(
          async () => (await countByStatus(batch, queue, 'RUNNING')) === RUNNING,
          120_000,
        );
      } finally {
        batch.destroy();
        first.child.kill('SIGKILL');
        await first.exited;
      }

      const second = await spawnServer(['--state-dir', state], env);
      batch = new BatchClient(clientConfig(second.endpoint));
      try {
        await until(
          async () => (await countByStatus(batch, 'q', 'SUCCEEDED')) === ids.length,
          1_200_000,
        );
        const jobs: JobDetail[] = [];
        for (let i = 0; i < ids.length; i += 100) {
          const out = await batch.send(new DescribeJobsCommand({ jobs: ids.slice(i, i + 100) }));
          jobs.push(...(out.jobs ?? []));
        }
        assert.equal(jobs.length, ids.length);
        for (const job of jobs) {
          assert.equal(job.status, 'SUCCEEDED', `${job.jobName}: ${job.statusReason}`);
          const ok = job.attempts?.filter((a) => a.container?.exitCode === 0) ?? [];
          assert.equal(ok.length, 1, `${job.jobName} succeeded once`);
          if (sleepers.has(job.jobId ?? '')) {
            assert.equal(job.attempts?.length, 2, job.jobName);
            assert.match(
              job.attempts?.[0]?.statusReason ?? '',
              /^Host EC2 \(instance i-[0-9a-f]+\) terminated\.$/,
            );
          } else {
            assert.equal(job.attempts?.length, 1, job.jobName);
          }
        }
      } finally {
        batch.destroy();
        second.child.kill('SIGTERM');
        await second.exited;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);
