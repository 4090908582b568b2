/**
 * Bucket notifications: object events (s3:ObjectCreated:*, s3:ObjectRemoved:*) matched
 * against the bucket's configuration (event names, prefix and suffix filters) and handed,
 * in AWS's event shape, to the targets other services register through the `s3events`
 * link (Lambda). A bucket with `EventBridgeConfiguration` also publishes every object event
 * on the internal bus, in EventBridge's shape (`Object Created`, `Object Deleted`), for the
 * account's default event bus. S3 knows no target service itself.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 */
import type { LambdaFunctionConfiguration, NotificationConfiguration } from '../../api/s3/types.js';
import type { RequestContext } from '../../shared/context.js';
import { buildArn } from '../../shared/arn.js';
import type { Logger } from '../../shared/log.js';
import { awsTime, type BusEventInput, type EventBus } from '../../events/bus.js';
import { urlEncodeKey } from './common-keys.js';
import { S3Errors } from './errors.js';
import type { BucketRecord, ObjectRecord } from './store.js';

export type S3EventName =
  | 'ObjectCreated:Put'
  | 'ObjectCreated:Post'
  | 'ObjectCreated:Copy'
  | 'ObjectCreated:CompleteMultipartUpload'
  | 'ObjectRemoved:Delete'
  | 'ObjectRemoved:DeleteMarkerCreated';

export interface S3ObjectEvent {
  name: S3EventName;
  bucket: BucketRecord;
  /** The object as stored (created), or its last state (removed). */
  object: Pick<ObjectRecord, 'key' | 'size' | 'etag' | 'versionId'>;
  requestId: string;
  sourceIp?: string;
  principalId: string;
  time: number;
}

export interface S3Notifier {
  /**
   * Called after the change is committed, before the client hears of it: delivery is
   * handed to the target's own durable queue. Never throws into the request.
   */
  notify(event: S3ObjectEvent): Promise<void>;
  /**
   * Checks a configuration's destinations before it is stored (S3's "Unable to validate
   * the following destination configurations"); throws the AwsError to answer.
   */
  validate(config: NotificationConfiguration, bucket: string, ctx: RequestContext): Promise<void>;
}

/** A service that takes S3 events for its functions (Lambda). */
export interface LambdaEventTarget {
  /** Undefined when S3 may invoke the function, else why not (S3's ArgumentValue). */
  check(functionArn: string, bucketArn: string, account: string): Promise<string | undefined>;
  /** Queues an asynchronous invocation (the function's retry and destination settings apply). */
  deliver(functionArn: string, event: Buffer, requestId: string): Promise<void>;
}

/** What S3 hands other services: where they register as event targets. */
export interface S3EventTargets {
  registerLambda(target: LambdaEventTarget): void;
}

export class BucketNotifier implements S3Notifier, S3EventTargets {
  private lambda: LambdaEventTarget | undefined;
  private sequence = 0;

  constructor(
    private readonly log: Pick<Logger, 'warn'>,
    private readonly bus?: EventBus,
  ) {}

  registerLambda(target: LambdaEventTarget): void {
    this.lambda = target;
  }

  async validate(
    config: NotificationConfiguration,
    bucket: string,
    ctx: RequestContext,
  ): Promise<void> {
    const failures: { arn: string; reason: string }[] = [];
    for (const c of config.LambdaFunctionConfigurations ?? []) {
      const reason = this.lambda
        ? await this.lambda.check(c.LambdaFunctionArn, buildArn('s3', '', '', bucket), ctx.account)
        : 'Lambda is not running';
      if (reason !== undefined) failures.push({ arn: c.LambdaFunctionArn, reason });
    }
    if (config.TopicConfigurations?.length || config.QueueConfigurations?.length) {
      for (const c of [
        ...(config.TopicConfigurations ?? []),
        ...(config.QueueConfigurations ?? []),
      ]) {
        const arn = 'TopicArn' in c ? c.TopicArn : c.QueueArn;
        failures.push({ arn, reason: 'Stratus delivers to Lambda functions and EventBridge only' });
      }
    }
    if (failures.length) {
      throw S3Errors.invalidArgument(
        'Unable to validate the following destination configurations',
        failures[0].arn,
        failures[0].reason,
      );
    }
  }

  async notify(event: S3ObjectEvent): Promise<void> {
    const config = event.bucket.notification as NotificationConfiguration | undefined;
    if (config?.EventBridgeConfiguration && this.bus) {
      try {
        await this.bus.publish([this.eventBridgeEvent(event)]);
      } catch (err) {
        this.log.warn('S3 event not published to EventBridge', {
          bucket: event.bucket.name,
          key: event.object.key,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    const targets = (config?.LambdaFunctionConfigurations ?? []).filter((c) => matches(c, event));
    if (!targets.length || !this.lambda) return;
    for (const c of targets) {
      const body = Buffer.from(JSON.stringify(this.eventJson(event, c.Id ?? '')));
      try {
        await this.lambda.deliver(c.LambdaFunctionArn, body, event.requestId);
      } catch (err) {
        this.log.warn('S3 event not delivered', {
          bucket: event.bucket.name,
          key: event.object.key,
          function: c.LambdaFunctionArn,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  /** The sequencer: "a way to determine the sequence of events", hexadecimal, growing. */
  private sequencer(time: number): string {
    return (BigInt(time) * 4096n + BigInt(this.sequence++ % 4096))
      .toString(16)
      .toUpperCase()
      .padStart(18, '0');
  }

  /** The event as S3 sends it to EventBridge. */
  private eventBridgeEvent(e: S3ObjectEvent): BusEventInput {
    const created = e.name.startsWith('ObjectCreated');
    const reason = EVENTBRIDGE_REASONS[e.name];
    return {
      source: 'aws.s3',
      detailType: created ? 'Object Created' : 'Object Deleted',
      account: e.bucket.account,
      region: e.bucket.region,
      time: awsTime(e.time),
      resources: [buildArn('s3', '', '', e.bucket.name)],
      detail: {
        version: '0',
        bucket: { name: e.bucket.name },
        object: {
          key: e.object.key,
          ...(created && { size: e.object.size, etag: e.object.etag.replace(/"/g, '') }),
          ...(e.object.versionId && { 'version-id': e.object.versionId }),
          sequencer: this.sequencer(e.time),
        },
        'request-id': e.requestId,
        requester: e.bucket.account,
        'source-ip-address': e.sourceIp ?? '127.0.0.1',
        reason,
        ...(!created && {
          'deletion-type':
            e.name === 'ObjectRemoved:DeleteMarkerCreated'
              ? 'Delete Marker Created'
              : 'Permanently Deleted',
        }),
      },
    };
  }

  /** The event record exactly as S3 sends it. */
  private eventJson(e: S3ObjectEvent, configurationId: string) {
    const created = e.name.startsWith('ObjectCreated');
    const sequencer = this.sequencer(e.time);
    return {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: e.bucket.region,
          eventTime: new Date(e.time).toISOString(),
          eventName: e.name,
          userIdentity: { principalId: `AWS:${e.principalId}` },
          requestParameters: { sourceIPAddress: e.sourceIp ?? '127.0.0.1' },
          responseElements: {
            'x-amz-request-id': e.requestId,
            'x-amz-id-2': Buffer.from(e.requestId).toString('base64'),
          },
          s3: {
            s3SchemaVersion: '1.0',
            configurationId,
            bucket: {
              name: e.bucket.name,
              ownerIdentity: { principalId: e.bucket.account },
              arn: buildArn('s3', '', '', e.bucket.name),
            },
            object: {
              key: urlEncodeKey(e.object.key),
              ...(created ? { size: e.object.size, eTag: e.object.etag.replace(/"/g, '') } : {}),
              ...(e.object.versionId ? { versionId: e.object.versionId } : {}),
              sequencer,
            },
          },
        },
      ],
    };
  }
}

/** The `reason` S3 gives EventBridge for each kind of change. */
const EVENTBRIDGE_REASONS: Record<S3EventName, string> = {
  'ObjectCreated:Put': 'PutObject',
  'ObjectCreated:Post': 'PostObject',
  'ObjectCreated:Copy': 'CopyObject',
  'ObjectCreated:CompleteMultipartUpload': 'CompleteMultipartUpload',
  'ObjectRemoved:Delete': 'DeleteObject',
  'ObjectRemoved:DeleteMarkerCreated': 'DeleteObject',
};

/** Event name (`s3:ObjectCreated:*` or exact) and the key's prefix and suffix filters. */
function matches(c: LambdaFunctionConfiguration, e: S3ObjectEvent): boolean {
  const name = `s3:${e.name}`;
  const family = `${name.slice(0, name.lastIndexOf(':'))}:*`;
  if (!c.Events.some((ev) => ev === name || ev === family)) return false;
  for (const rule of c.Filter?.Key?.FilterRules ?? []) {
    const value = rule.Value ?? '';
    const kind = rule.Name?.toLowerCase();
    if (kind === 'prefix' && !e.object.key.startsWith(value)) return false;
    if (kind === 'suffix' && !e.object.key.endsWith(value)) return false;
  }
  return true;
}
