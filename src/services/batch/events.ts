/**
 * Batch and EventBridge: job status changes published on the internal bus as AWS's
 * `Batch Job State Change` events (the detail is the job as DescribeJobs shows it), and
 * Batch as a target of rules and schedules (SubmitJob with the target's BatchParameters).
 * https://docs.aws.amazon.com/batch/latest/userguide/batch_cwe_events.html
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html#targets-specifics-batch
 */
import type { BatchOperations } from '../../api/batch/operations.js';
import type { SubmitJobRequest } from '../../api/batch/types.js';
import type { BusEventInput, EventBus } from '../../events/bus.js';
import { DeliveryRefused, type TargetService } from '../../events/targets.js';
import { parseArn, rootPrincipal } from '../../shared/arn.js';
import { detail } from './jobs-api.js';
import type { JobRecord } from './store.js';

/**
 * The engine's onStatusChange: one event per status a job reaches. The changes of one turn
 * of the event loop (a group commit of submissions, a dispatch round) go to the bus in one
 * publish, i.e. one transaction, in the order they happened.
 */
export function jobChangePublisher(
  bus: EventBus,
  warn: (message: string) => void,
): (job: JobRecord) => void {
  let pending: BusEventInput[] = [];
  const flush = (): void => {
    const events = pending;
    pending = [];
    bus
      .publish(events)
      .catch((err: unknown) => warn(`batch: job state change not published: ${String(err)}`));
  };
  return (job) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push({
      source: 'aws.batch',
      detailType: 'Batch Job State Change',
      account: job.account,
      region: job.region,
      resources: [job.jobArn],
      // A copy as it is now: the record changes further.
      detail: JSON.parse(JSON.stringify(detail(job))) as Record<string, unknown>,
    });
  };
}

type Params = Record<string, unknown>;

/** Batch as a target: the target ARN is a job queue's, BatchParameters say what to submit. */
export function batchEventTarget(ops: Partial<Pick<BatchOperations, 'SubmitJob'>>): TargetService {
  return {
    async deliver(d) {
      const arn = parseArn(d.arn);
      if (!arn || !arn.resource.startsWith('job-queue/')) {
        throw new DeliveryRefused(`not a job queue ARN: ${d.arn}`);
      }
      if (!ops.SubmitJob) throw new DeliveryRefused('Batch SubmitJob is not available');
      const p: Params = d.batchParameters ?? {};
      const array = p.ArrayProperties as { Size?: number } | undefined;
      const retry = p.RetryStrategy as { Attempts?: number } | undefined;
      const input: SubmitJobRequest = {
        jobQueue: d.arn,
        jobDefinition: String(p.JobDefinition ?? ''),
        jobName: String(p.JobName ?? 'events-job'),
        ...(array?.Size !== undefined && { arrayProperties: { size: array.Size } }),
        ...(retry?.Attempts !== undefined && { retryStrategy: { attempts: retry.Attempts } }),
      };
      // The Input (JSON) of a Batch target becomes the job's parameters when it is a map.
      try {
        const body = JSON.parse(d.payload.toString('utf8')) as unknown;
        if (body && typeof body === 'object' && !Array.isArray(body)) {
          const params = (body as Params).Parameters ?? (body as Params).parameters;
          if (params && typeof params === 'object')
            input.parameters = params as Record<string, string>;
        }
      } catch {
        // Not JSON: no parameters.
      }
      await ops.SubmitJob(input, {
        requestId: d.deliveryId,
        account: arn.account,
        region: arn.region,
        accessKeyId: '',
        principal: rootPrincipal(arn.account),
      });
    },
  };
}
