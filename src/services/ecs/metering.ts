/**
 * Fargate usage for the bill: a task's vCPUs and GB are levels of the meter from the moment
 * its image pull starts until it stops, "rounded up to the nearest second, with a
 * one-minute minimum" (https://aws.amazon.com/fargate/pricing/). FARGATE_SPOT tasks and Arm
 * task definitions have their own usage types; tasks of the EC2 launch type are billed as
 * the instances they run on, which Stratus has none of.
 */
import type { Meter } from '../../billing/meter.js';
import type { TaskRecord } from './store.js';

const MINIMUM_SECONDS = 60;

export function meterFargate(meter: Meter, r: TaskRecord): void {
  if (!meter.enabled) return;
  const fargate = r.launchType === 'FARGATE' || r.capacityProviderName?.startsWith('FARGATE');
  const start = r.report.times.pullStartedAt ?? r.report.times.startedAt;
  if (!fargate || start === undefined || r.cpu === undefined || r.memory === undefined) return;
  const prefix =
    r.capacityProviderName === 'FARGATE_SPOT'
      ? 'SpotUsage-Fargate'
      : r.cpuArchitecture === 'ARM64'
        ? 'Fargate-ARM'
        : 'Fargate';
  const arn = r.taskDefinitionArn;
  const base = {
    account: r.account,
    region: r.region,
    service: 'AmazonECS' as const,
    // Billed per task family: the definition's ARN without its revision.
    resource: arn.replace(/:\d+$/, ''),
    series: `${r.cluster}/${r.taskId}`,
  };
  const levels = [
    { usageType: `${prefix}-vCPU-Hours:perCPU`, value: Number(r.cpu) / 1024 },
    { usageType: `${prefix}-GB-Hours`, value: Number(r.memory) / 1024 },
  ];
  for (const l of levels) {
    meter.level({ ...base, ...l, at: start, minimumSeconds: MINIMUM_SECONDS });
  }
  const end = r.report.times.stoppedAt ?? r.report.times.executionStoppedAt;
  if (r.report.lastStatus === 'STOPPED' && end !== undefined) {
    const to = start + Math.ceil(Math.max(0, end - start) / 1000) * 1000;
    for (const l of levels) meter.level({ ...base, ...l, value: 0, at: to });
  }
}
