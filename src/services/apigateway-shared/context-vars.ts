/**
 * `$context`: the variables API Gateway knows about one request, shared by mapping
 * templates, access log formats and Lambda events. REST and HTTP APIs fill the same
 * object (each the keys its kind documents), nested as the dotted names read:
 * `$context.identity.sourceIp` is `ctx.identity.sourceIp`.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html#context-variable-reference
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
import { createHash } from 'node:crypto';
import { LogWriter, type LogStream } from '../../events/log-writer.js';
import type { LogSink } from '../../events/logs.js';
import { BoundedMap } from '../../shared/bounded-map.js';
import { parseArn } from '../../shared/arn.js';

/** A value of a `$context` variable, or a group of them (`identity`, `authorizer`, `error`). */
export type ContextValue = string | number | boolean | null | undefined | ContextGroup;
export interface ContextGroup {
  [key: string]: ContextValue;
}

/** The variables of one request; the keys below are the ones both API kinds set. */
export interface ApiContext extends ContextGroup {
  accountId: string;
  apiId: string;
  domainName: string;
  domainPrefix: string;
  extendedRequestId: string;
  httpMethod: string;
  path: string;
  protocol: string;
  requestId: string;
  /** CLF time, `03/Dec/2026:20:15:29 +0000`. */
  requestTime: string;
  requestTimeEpoch: number;
  stage: string;
  identity: ContextGroup;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `$context.requestTime`: Common Log Format, `dd/MMM/yyyy:HH:mm:ss +0000` (UTC). */
export function clfTime(ms: number): string {
  // Every request of a second asks for the same text: the last one is kept.
  const second = Math.floor(ms / 1000);
  if (second === lastClf.second) return lastClf.text;
  const text = formatClf(ms);
  lastClf = { second, text };
  return text;
}

let lastClf = { second: NaN, text: '' };

function formatClf(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

/** The value of a dotted name (`identity.sourceIp`) in the context, undefined when absent. */
export function contextValue(ctx: ContextGroup, name: string): ContextValue {
  let v: ContextValue = ctx;
  for (const part of name.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = v[part];
  }
  return v;
}

const VARIABLE = /\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_-]+)*)/g;

/**
 * One access log line in the stage's format (CLF, JSON, XML or CSV as the user wrote it):
 * each `$context.<name>` is replaced by its value, `-` when the request has none ("If a
 * variable isn't available for a request, its value is displayed as a dash").
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
 */
export function formatAccessLog(format: string, ctx: ContextGroup): string {
  return format.replace(VARIABLE, (_whole, name: string) => {
    const v = contextValue(ctx, name);
    if (v === undefined || v === null || v === '') return '-';
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

/**
 * Writes access log lines to CloudWatch Logs through the `logs` link, batched by a LogWriter
 * as every buffered log is (lines wait up to `flushMs`, then go out together), so logging
 * costs a request no database transaction of its own. The group is the stage's destination ARN; the stream
 * is named per API stage (AWS uses opaque per-stage stream names, too).
 */
export class AccessLogWriter {
  private readonly writer: LogWriter;
  /** Open streams by destination ARN and stage. Bounded: the ARNs come from stage settings. */
  private readonly streams = new BoundedMap<string, LogStream>(10_000);

  constructor(sink: LogSink, flushMs = 100, onError: (err: unknown) => void = () => {}) {
    this.writer = new LogWriter(sink, flushMs, onError);
  }

  /**
   * Queues `message` for the log group `destinationArn` names (`arn:aws:logs:<region>:
   * <account>:log-group:<name>`, a trailing `:*` allowed); ignores an ARN naming none.
   */
  write(
    destinationArn: string,
    apiId: string,
    stage: string,
    message: string,
    at = Date.now(),
  ): void {
    const key = `${destinationArn}\u0000${apiId}\u0000${stage}`;
    let stream = this.streams.get(key);
    if (stream === undefined) {
      const target = logGroupOf(destinationArn);
      if (!target) return;
      stream = this.writer.open(target.scope, target.group, streamName(apiId, stage));
      this.streams.set(key, stream);
    }
    stream.push(at, message);
  }

  /** Appends everything queued (also called before shutdown). */
  flush(): Promise<void> {
    return this.writer.flush();
  }
}

/** The log group (and its account and region) a destination ARN names. */
export function logGroupOf(
  arn: string,
): { scope: { account: string; region: string }; group: string } | undefined {
  const p = parseArn(arn);
  if (p?.service !== 'logs' || !p.resource.startsWith('log-group:')) return undefined;
  const group = p.resource.slice('log-group:'.length).replace(/:\*$/, '');
  if (group === '') return undefined;
  return { scope: { account: p.account, region: p.region }, group };
}

/** A stable stream name per API stage: 32 hex characters, like the names AWS picks. */
function streamName(apiId: string, stage: string): string {
  return createHash('md5').update(`${apiId}/${stage}`).digest('hex');
}
