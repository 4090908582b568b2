/**
 * Delivery of subscription filters: after events are appended to a group, the events each
 * of the group's subscription filters matches are sent to its destination, one batch per
 * filter and stream, as AWS sends them to Lambda: `{"awslogs":{"data":"<base64 of gzipped
 * JSON>"}}` with messageType DATA_MESSAGE, owner, logGroup, logStream,
 * subscriptionFilters and logEvents (id, timestamp, message).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample
 * Destinations are delivered by the service that owns them (Lambda registers itself);
 * a destination nobody delivers to is skipped.
 */
import { randomInt } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { SubscriptionDeliverer } from '../../events/logs.js';
import { parseArn } from '../../shared/arn.js';
import type { MetadataStore } from '../../storage/types.js';
import { compileFilterPattern } from './filter-pattern.js';
import type { LiveTailHub } from './live-tail.js';
import type { MetricFilterPublisher } from './metric-filter-delivery.js';
import type { SubscriptionFilterRecord } from './filters.js';
import { SUBSCRIPTION_FILTERS, childPrefix, groupKey, type Scope } from './store.js';

export interface AppendedEvent {
  timestamp: number;
  message: string;
}

/** One stream's appended events (a LogBatch). */
export interface AppendedBatch {
  scope: Scope;
  logGroupName: string;
  logStreamName: string;
  events: readonly AppendedEvent[];
}

/** A 56-digit event id, the form AWS's subscription events carry. */
function eventId(timestamp: number): string {
  let digits = String(Math.max(0, Math.trunc(timestamp)));
  while (digits.length < 56) digits += String(randomInt(10));
  return digits.slice(0, 56);
}

export class SubscriptionDelivery {
  private readonly deliverers = new Map<string, SubscriptionDeliverer>();

  constructor(
    private readonly store: MetadataStore,
    private readonly warn: (msg: string, err: unknown) => void = () => {},
    /** Metric filters publish from the same appends (metric-filter-delivery.ts). */
    readonly metricFilters?: MetricFilterPublisher,
    /** Open Live Tail sessions see the same appends (live-tail.ts). */
    readonly liveTail?: LiveTailHub,
  ) {}

  /** `service` (the destination ARN's service, e.g. `lambda`) is delivered by `deliver`. */
  register(service: string, deliver: SubscriptionDeliverer): void {
    this.deliverers.set(service, deliver);
  }

  /**
   * Publishes the group's metric filters and sends what its subscription filters match;
   * never throws (the append has committed).
   */
  appended(
    scope: Scope,
    group: string,
    stream: string,
    events: readonly AppendedEvent[],
  ): Promise<void> {
    return this.appendedMany([{ scope, logGroupName: group, logStreamName: stream, events }]);
  }

  /** `appended` for several streams: a group's subscription filters are read once. */
  async appendedMany(batches: readonly AppendedBatch[]): Promise<void> {
    const filtersOf = new Map<string, Promise<SubscriptionFilterRecord[]>>();
    for (const { scope, logGroupName: group, logStreamName: stream, events } of batches) {
      this.liveTail?.appended(scope, group, stream, events);
      await this.metricFilters
        ?.appended(scope, group, events)
        .catch((err: unknown) => this.warn('could not publish metric filters', err));
      if (events.length === 0 || this.deliverers.size === 0) continue;
      try {
        const gKey = groupKey(scope, group);
        let filters = filtersOf.get(gKey);
        if (filters === undefined) {
          filters = this.store
            .list<SubscriptionFilterRecord>(SUBSCRIPTION_FILTERS, { prefix: childPrefix(gKey) })
            .then((items) => items.map((i) => i.value));
          filtersOf.set(gKey, filters);
        }
        for (const f of await filters) {
          await this.deliver(scope, group, stream, events, f);
        }
      } catch (err) {
        this.warn('could not read subscription filters', err);
      }
    }
  }

  private async deliver(
    scope: Scope,
    group: string,
    stream: string,
    events: readonly AppendedEvent[],
    f: SubscriptionFilterRecord,
  ): Promise<void> {
    const deliver = this.deliverers.get(parseArn(f.destinationArn)?.service ?? '');
    if (deliver === undefined) return;
    const matches = compileFilterPattern(f.filterPattern);
    const logEvents = events
      .filter((e) => matches(e.message))
      .map((e) => ({ id: eventId(e.timestamp), timestamp: e.timestamp, message: e.message }));
    if (logEvents.length === 0) return;
    const data = gzipSync(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        owner: scope.account,
        logGroup: group,
        logStream: stream,
        subscriptionFilters: [f.filterName],
        logEvents,
      }),
    ).toString('base64');
    const payload = Buffer.from(JSON.stringify({ awslogs: { data } }));
    await deliver(f.destinationArn, payload).catch((err: unknown) =>
      this.warn(`could not deliver subscription filter ${f.filterName}`, err),
    );
  }
}
