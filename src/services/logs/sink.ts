/**
 * The typed way other services append CloudWatch Logs events (Lambda's START/END/REPORT
 * lines and function output): group and stream are created on first use, as the Lambda
 * service does with `/aws/lambda/<function>` groups.
 */
import type { LogBatch, LogEventInput, LogSink, SubscriptionDeliverer } from '../../events/logs.js';
import type { MetadataStore } from '../../storage/types.js';
import { ingestEvents } from './ingest.js';
import {
  GROUPS,
  type GroupRecord,
  groupKey,
  newGroup,
  newStream,
  type Scope,
  STREAMS,
  type StreamRecord,
  streamKey,
} from './store.js';
import type { AppendedBatch, SubscriptionDelivery } from './subscription-delivery.js';

export class LogsSink implements LogSink {
  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number = Date.now,
    private readonly subscriptions?: SubscriptionDelivery,
  ) {}

  deliverSubscriptions(service: string, deliver: SubscriptionDeliverer): void {
    this.subscriptions?.register(service, deliver);
  }

  append(
    scope: Scope,
    logGroupName: string,
    logStreamName: string,
    events: LogEventInput[],
  ): Promise<void> {
    return this.appendMany([{ scope, logGroupName, logStreamName, events }]);
  }

  async appendMany(batches: readonly LogBatch[]): Promise<void> {
    if (batches.length === 0) return;
    const now = this.now();
    const stored = await this.store.transaction(async (tx) => {
      const out: AppendedBatch[] = [];
      for (const { scope, logGroupName, logStreamName, events } of batches) {
        const gKey = groupKey(scope, logGroupName);
        const sKey = streamKey(gKey, logStreamName);
        let stream = await tx.get<StreamRecord>(STREAMS, sKey);
        if (!stream) {
          const group = (await tx.get<GroupRecord>(GROUPS, gKey)) ?? newGroup(logGroupName, now);
          stream = newStream(logStreamName, group.nextStreamId, now);
          group.nextStreamId++;
          await tx.put(GROUPS, gKey, group);
          await tx.put(STREAMS, sKey, stream);
        }
        const kept = await ingestEvents(
          tx,
          scope,
          logGroupName,
          logStreamName,
          stream,
          events,
          now,
        );
        out.push({ scope, logGroupName, logStreamName, events: kept });
      }
      return out;
    });
    await this.subscriptions?.appendedMany(stored);
  }
}
