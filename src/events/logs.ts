/**
 * The internal, typed way for services (Lambda first) to append CloudWatch Logs events
 * without going through the wire protocol. Implemented by the logs plugin.
 */
export interface LogEventInput {
  timestamp: number;
  message: string;
}

export interface LogSink {
  /** Creates the group and stream when missing, then appends the events in order. */
  append(
    scope: { account: string; region: string },
    logGroupName: string,
    logStreamName: string,
    events: LogEventInput[],
  ): Promise<void>;
}
