/**
 * The internal, typed way for services to publish CloudWatch metrics in AWS's own
 * namespaces (`AWS/Lambda`, `AWS/ECR`, `AWS/ECS`…) and to receive alarm actions, without
 * going through the wire protocol. Implemented by the cloudwatch plugin (link `metrics`).
 *
 * `put` is for hot paths: it only adds the value to an in-memory aggregate (no await, no
 * store write); the aggregates are written in one transaction about once a second.
 */
export interface MetricDimension {
  Name: string;
  Value: string;
}

/** Delivers an alarm event (AWS's JSON) to a target ARN of the registering service. */
export type AlarmActionDeliverer = (arn: string, payload: Buffer) => Promise<void>;

/** One log event, as Contributor Insights reads it. */
export interface LogEventRecord {
  timestamp: number;
  message: string;
}

/**
 * CloudWatch Logs' events for Contributor Insights rules, registered by the logs plugin
 * (which needs `metrics`, so CloudWatch cannot need `logs` in turn).
 */
export interface LogEventReader {
  /** Names of the scope's log groups matching `pattern` (a trailing `*` is a prefix). */
  groups(scope: { account: string; region: string }, pattern: string): Promise<string[]>;
  /** The group's events with timestamps in [fromMs, toMs), page by page. */
  events(
    scope: { account: string; region: string },
    group: string,
    fromMs: number,
    toMs: number,
  ): AsyncIterable<LogEventRecord[]>;
}

export interface MetricSink {
  /**
   * Records `count` (default 1) data points of `value` for `namespace`/`name` with those
   * dimensions (standard, 1-minute resolution). `unit` is one of CloudWatch's StandardUnit
   * values; `time` defaults to now. A caller that passes the same frozen (Object.freeze)
   * dimension list every time spares the sink building its key on each put.
   */
  put(
    scope: { account: string; region: string },
    namespace: string,
    name: string,
    dimensions: readonly MetricDimension[],
    value: number,
    unit: string,
    time?: number,
    count?: number,
  ): void;
  /** Whether metrics are recorded at all (STRATUS_METRICS=off turns them off). */
  readonly enabled: boolean;
  /** Alarm actions whose ARN is of `service` (e.g. `lambda`) are delivered through `deliver`. */
  registerAlarmTarget(service: string, deliver: AlarmActionDeliverer): void;
  /** Where Contributor Insights rules read log events (the logs plugin registers it). */
  registerLogReader?(reader: LogEventReader): void;
  /** Writes what is buffered now (tests and shutdown). */
  flush(): Promise<void>;
}

/** A sink that records nothing (tests that build a service without CloudWatch). */
export const noMetrics: MetricSink = {
  put: () => undefined,
  enabled: false,
  registerAlarmTarget: () => undefined,
  flush: async () => undefined,
};
