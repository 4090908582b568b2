/**
 * When schedules fire, and what a firing does. Each enabled schedule is an entry of the
 * scheduling clock (shared with EventBridge rules); a firing publishes a `Scheduled
 * Event` for that schedule alone on the internal bus (durable), and the Scheduler's
 * subscriber invokes the target with the schedule's Input, its context attributes filled
 * in. A one-time (or ended) schedule with `ActionAfterCompletion: DELETE` is deleted once
 * its last firing is on the bus.
 * https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html
 */
import { createHash } from 'node:crypto';
import type { Target } from '../../api/scheduler/types.js';
import { awsTime, type BusEvent, type EventBus } from '../../events/bus.js';
import type { SchedulingClock } from '../../events/clock.js';
import { nextFiring, parseScheduleExpression } from '../../events/schedule-expression.js';
import { deliveryId, type EventTargets } from '../../events/targets.js';
import type { Meter } from '../../billing/meter.js';
import type { Logger } from '../../shared/log.js';
import type { MetadataStore } from '../../storage/types.js';
import { SCHEDULES_TABLE, scheduleKey, type ScheduleRecord } from './store.js';

/** What a firing carries to the subscriber (the schedule may be gone by then). */
interface FiringDetail {
  scheduledTime: string;
  target: Target;
}

export class ScheduleFirings {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: SchedulingClock,
    private readonly bus: EventBus,
    private readonly targets: EventTargets,
    private readonly log: Pick<Logger, 'warn'>,
    /** The bill: "each target invocation" is one Scheduler invocation. */
    private readonly meter?: Meter,
  ) {}

  /** Registers every enabled schedule from now on (missed firings are not replayed). */
  async load(): Promise<void> {
    for (const { value } of await this.store.list<ScheduleRecord>(SCHEDULES_TABLE)) {
      this.sync(value, value.arn);
    }
  }

  sync(s: ScheduleRecord | undefined, arn: string): void {
    if (!s || s.state === 'DISABLED') {
      this.clock.remove(arn);
      return;
    }
    const expr = parseScheduleExpression(s.expression, { allowAt: true, timeZone: s.timeZone });
    const anchor = s.startDate ?? s.createdAt;
    // The window's offset is fixed per schedule, so a firing's time is reproducible.
    const windowMs = (s.flexibleTimeWindow.MaximumWindowInMinutes ?? 0) * 60_000;
    const jitter = windowMs
      ? createHash('sha256').update(arn).digest().readUInt32BE(0) % windowMs
      : 0;
    const scheduledAfter = (t: number): number | undefined => {
      const from = s.startDate !== undefined ? Math.max(t, s.startDate - 1) : t;
      const next = nextFiring(expr, from, anchor);
      return next === undefined || (s.endDate !== undefined && next > s.endDate) ? undefined : next;
    };
    const first = scheduledAfter(this.clock.now() - jitter);
    if (first === undefined) {
      this.clock.remove(arn);
      return;
    }
    const fire = async (at: number) => {
      const scheduled = at - jitter;
      const next = scheduledAfter(scheduled);
      const detail: FiringDetail = { scheduledTime: awsTime(scheduled), target: s.target };
      await this.bus.publish([
        {
          source: 'aws.scheduler',
          detailType: 'Scheduled Event',
          account: s.account,
          region: s.region,
          resources: [s.arn],
          detail,
          time: awsTime(at),
          to: { schedule: s.arn },
        },
      ]);
      if (next === undefined && s.actionAfterCompletion === 'DELETE') {
        await this.store.delete(SCHEDULES_TABLE, scheduleKey(s, s.groupName, s.name));
      }
      return next === undefined ? undefined : next + jitter;
    };
    this.clock.set(arn, first + jitter, fire);
  }

  /** The bus subscriber: invokes the target of a schedule's firing. */
  async handle(event: BusEvent): Promise<void> {
    const arn = event.to?.schedule;
    if (arn === undefined) return;
    const { scheduledTime, target } = event.detail as FiringDetail;
    const input = (target.Input ?? '{}')
      .replaceAll('<aws.scheduler.schedule-arn>', arn)
      .replaceAll('<aws.scheduler.scheduled-time>', scheduledTime)
      .replaceAll('<aws.scheduler.execution-id>', event.id)
      .replaceAll('<aws.scheduler.attempt-number>', '1');
    this.meter?.count({
      account: event.account,
      region: event.region,
      service: 'AWSEvents',
      usageType: 'Scheduler-Invocation',
      resource: arn,
      quantity: 1,
    });
    try {
      await this.targets.deliver({
        arn: target.Arn,
        sourceArn: arn,
        service: 'scheduler.amazonaws.com',
        account: event.account,
        region: event.region,
        roleArn: target.RoleArn,
        payload: Buffer.from(input),
        deliveryId: deliveryId(event.id, target.Arn),
        ...(target.EcsParameters !== undefined && {
          ecsParameters: target.EcsParameters as unknown as Record<string, unknown>,
        }),
      });
    } catch (err) {
      this.log.warn('Scheduler target invocation failed', {
        schedule: arn,
        target: target.Arn,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
