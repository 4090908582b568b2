/**
 * The internal, typed way for services (Lambda first) to append CloudWatch Logs events
 * without going through the wire protocol. Implemented by the logs plugin.
 */
export interface LogEventInput {
  timestamp: number;
  message: string;
}

/** One stream's events, as a batching writer hands several streams' events on at once. */
export interface LogBatch {
  scope: { account: string; region: string };
  logGroupName: string;
  logStreamName: string;
  events: LogEventInput[];
}

/** Sends one subscription batch (the payload AWS sends) to a destination ARN. */
export type SubscriptionDeliverer = (destinationArn: string, payload: Buffer) => Promise<void>;

export interface LogSink {
  /**
   * Subscription filters whose destination ARN is of `service` (e.g. `lambda`) are
   * delivered through `deliver`: the destination's service registers itself.
   */
  deliverSubscriptions?(service: string, deliver: SubscriptionDeliverer): void;

  /** Creates the group and stream when missing, then appends the events in order. */
  append(
    scope: { account: string; region: string },
    logGroupName: string,
    logStreamName: string,
    events: LogEventInput[],
  ): Promise<void>;

  /**
   * `append` of several streams in one write (one store transaction, where a transaction
   * per stream cost Lambda's log flush, ten busy streams every 20 ms, more than its inserts).
   * Optional: without it, a writer appends stream by stream.
   */
  appendMany?(batches: readonly LogBatch[]): Promise<void>;
}
