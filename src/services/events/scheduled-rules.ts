/**
 * Rules with a ScheduleExpression: each enabled one is an entry of the scheduling clock,
 * and each firing publishes AWS's scheduled event for that rule alone.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html
 */
import { awsTime, type EventBus } from '../../events/bus.js';
import type { SchedulingClock } from '../../events/clock.js';
import { nextFiring, parseScheduleExpression } from '../../events/schedule-expression.js';
import type { MetadataStore } from '../../storage/types.js';
import { RULES_TABLE, type RuleRecord } from './store.js';

export class ScheduledRules {
  /** The expression each registered rule's next firing was computed from. */
  private readonly expressions = new Map<string, string>();

  constructor(
    private readonly clock: SchedulingClock,
    private readonly bus: EventBus,
  ) {}

  /** Registers every scheduled rule from now on (firings missed while down are not replayed). */
  async load(store: MetadataStore): Promise<void> {
    for (const { value } of await store.list<RuleRecord>(RULES_TABLE)) this.sync(value, value.arn);
  }

  reset(): void {
    this.expressions.clear();
  }

  /** Follows a rule's change (undefined: deleted). */
  sync(rule: RuleRecord | undefined, arn: string): void {
    if (!rule || rule.state === 'DISABLED' || rule.scheduleExpression === undefined) {
      this.clock.remove(arn);
      this.expressions.delete(arn);
      return;
    }
    const expr = parseScheduleExpression(rule.scheduleExpression);
    const anchor = rule.createdAt;
    const fire = async (at: number) => {
      await this.bus.publish([
        {
          source: 'aws.events',
          detailType: 'Scheduled Event',
          account: rule.account,
          region: rule.region,
          resources: [rule.arn],
          detail: {},
          time: awsTime(at),
          to: { rule: rule.arn },
        },
      ]);
      return nextFiring(expr, at, anchor);
    };
    // An unchanged schedule keeps its pending firing (one already due still fires).
    const current =
      this.expressions.get(arn) === rule.scheduleExpression ? this.clock.nextOf(arn) : undefined;
    this.expressions.set(arn, rule.scheduleExpression);
    this.clock.set(arn, current ?? nextFiring(expr, this.clock.now(), anchor), fire);
  }
}
