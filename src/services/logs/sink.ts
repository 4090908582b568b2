/**
 * The typed way other services append CloudWatch Logs events (Lambda's START/END/REPORT
 * lines and function output): group and stream are created on first use, as the Lambda
 * service does with `/aws/lambda/<function>` groups.
 */
import type { LogEventInput, LogSink, SubscriptionDeliverer } from '../../events/logs.js';
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
import type { SubscriptionDelivery } from './subscription-delivery.js';

export class LogsSink implements LogSink {
  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number = Date.now,
    private readonly subscriptions?: SubscriptionDelivery,
  ) {}

  deliverSubscriptions(service: string, deliver: SubscriptionDeliverer): void {
    this.subscriptions?.register(service, deliver);
  }

  async append(
    scope: Scope,
    logGroupName: string,
    logStreamName: string,
    events: LogEventInput[],
  ): Promise<void> {
    const gKey = groupKey(scope, logGroupName);
    const sKey = streamKey(gKey, logStreamName);
    const now = this.now();
    const stored = await this.store.transaction(async (tx) => {
      let stream = await tx.get<StreamRecord>(STREAMS, sKey);
      if (!stream) {
        const group = (await tx.get<GroupRecord>(GROUPS, gKey)) ?? newGroup(logGroupName, now);
        stream = newStream(logStreamName, group.nextStreamId, now);
        group.nextStreamId++;
        await tx.put(GROUPS, gKey, group);
        await tx.put(STREAMS, sKey, stream);
      }
      return ingestEvents(tx, scope, logGroupName, logStreamName, stream, events, now);
    });
    await this.subscriptions?.appended(scope, logGroupName, logStreamName, stored);
  }
}
