/**
 * S3 usage for the bill (https://aws.amazon.com/s3/pricing/): requests by tier (PUT, COPY,
 * POST and LIST are tier 1; GET, SELECT "and all other requests" tier 2; "DELETE and
 * CANCEL requests are free") and Standard storage, a bucket's bytes as a level of the meter
 * that the bill integrates into GB-months. Storage is recomputed from the objects table a
 * moment after a change (changes coming together share one recount).
 */
import type { S3Operations } from '../../api/s3/operations.js';
import type { Meter } from '../../billing/meter.js';
import type { MetricSink } from '../../events/metrics.js';
import { AwsError } from '../../shared/errors.js';
import type { RequestMetrics } from './metrics-config.js';
import type { FormOutcome } from './post-object.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataStore } from '../../storage/types.js';
import { OBJECTS, VERSIONS, objectPrefix, type ObjectRecord, type VersionEntry } from './store.js';

const GB = 1024 ** 3;

interface S3Input {
  Bucket?: string;
  Key?: string;
  ContentLength?: unknown;
}
const RECOUNT_AFTER_MS = 1000;

/** The request tier of an operation, or undefined for the free ones. */
export function requestTier(operation: string): 'Requests-Tier1' | 'Requests-Tier2' | undefined {
  if (/^(Delete|Abort)/.test(operation)) return undefined;
  if (/^(Put|Copy|Create|Complete|Upload|List|Restore|Post)/.test(operation))
    return 'Requests-Tier1';
  return 'Requests-Tier2';
}

/** Operations after which a bucket may store a different number of bytes. */
const CHANGES_STORAGE = /^(Put|Copy|Complete|Delete|Restore|Post)/;

export class S3Meter {
  private readonly due = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly store: MetadataStore,
    private readonly meter: Meter,
    private readonly warn: (message: string) => void,
    /** CloudWatch's `AWS/S3` storage metrics (absent: none published). */
    private readonly metrics?: MetricSink,
    /** Request metrics of buckets with metrics configurations. */
    private readonly requests?: RequestMetrics,
  ) {}

  /**
   * The operations, each counted as a request and noting storage changes, and told to the
   * request metrics.
   */
  wrap(ops: Partial<S3Operations>): Partial<S3Operations> {
    const metering = this.meter.enabled;
    const requests = this.requests;
    if (!metering && !requests) return ops;
    const out: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(ops) as [string, unknown][]) {
      if (typeof fn !== 'function') continue;
      const op = fn as (input: S3Input, ctx: RequestContext) => Promise<unknown>;
      out[name] = async (input: S3Input, ctx: RequestContext) => {
        const started = performance.now();
        let status = 200;
        let output: { ContentLength?: number } | undefined;
        try {
          output = (await op.call(ops, input, ctx)) as typeof output;
          return output;
        } catch (err) {
          status = err instanceof AwsError ? err.status : 500;
          throw err;
        } finally {
          if (metering) this.requested(name, input.Bucket, ctx, status < 300);
          if (name === 'CreateBucket' || name === 'DeleteBucket') {
            requests?.changed(input.Bucket ?? '');
          }
          requests?.record({
            account: ctx.account,
            region: ctx.region,
            operation: name,
            bucket: input.Bucket ?? '',
            key: input.Key ?? '',
            status,
            latencyMs: performance.now() - started,
            uploaded: typeof input.ContentLength === 'number' ? input.ContentLength : 0,
            downloaded: name === 'GetObject' ? (output?.ContentLength ?? 0) : 0,
          });
        }
      };
    }
    return out as Partial<S3Operations>;
  }

  /**
   * A browser form upload (POST Object), which reaches S3 outside the operations: a tier-1
   * request ("PUT, COPY, POST, LIST requests"), a storage change, and a PostRequests
   * request metric, like PutObject's.
   */
  formRequest(r: FormOutcome): void {
    if (this.meter.enabled) this.requested('PostObject', r.bucket, r, r.status < 300);
    this.requests?.record({ ...r, operation: 'PostObject', downloaded: 0 });
  }

  /** `succeeded`: only then can the storage have changed (and the bucket exist). */
  private requested(
    operation: string,
    bucket: string | undefined,
    ctx: Pick<RequestContext, 'account' | 'region'>,
    succeeded = true,
  ): void {
    const tier = requestTier(operation);
    const resource = `arn:aws:s3:::${bucket ?? ''}`;
    const base = { account: ctx.account, region: ctx.region, service: 'AmazonS3' as const };
    if (tier) this.meter.count({ ...base, usageType: tier, resource, quantity: 1 });
    if (succeeded && bucket && CHANGES_STORAGE.test(operation) && !this.due.has(bucket)) {
      const timer = setTimeout(() => {
        this.due.delete(bucket);
        void this.recount(ctx.account, ctx.region, bucket);
      }, RECOUNT_AFTER_MS);
      timer.unref();
      this.due.set(bucket, timer);
    }
  }

  private async recount(account: string, region: string, bucket: string): Promise<void> {
    const at = Date.now();
    try {
      let bytes = 0;
      let objects = 0;
      for (const { value } of await this.store.list<ObjectRecord>(OBJECTS, {
        prefix: objectPrefix(bucket),
      })) {
        bytes += value.size;
        objects++;
      }
      // Noncurrent versions are stored (and billed) too; delete markers hold no bytes.
      for (const { value } of await this.store.list<VersionEntry>(VERSIONS, {
        prefix: objectPrefix(bucket),
      })) {
        if (!value.deleteMarker) {
          bytes += value.size;
          objects++;
        }
      }
      this.publish({ account, region }, bucket, bytes, objects, at);
      const resource = `arn:aws:s3:::${bucket}`;
      this.meter.level({
        account,
        region,
        service: 'AmazonS3',
        usageType: 'TimedStorage-ByteHrs',
        resource,
        series: resource,
        value: bytes / GB,
        at,
      });
    } catch (err) {
      this.warn(`s3: metering ${bucket}'s storage failed: ${String(err)}`);
    }
  }

  /**
   * `AWS/S3`'s storage metrics
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/metrics-dimensions.html):
   * BucketSizeBytes by BucketName and StorageType `StandardStorage` ("The amount of data in
   * bytes that is stored in a bucket in the STANDARD storage class") and NumberOfObjects by
   * BucketName and StorageType `AllStorageTypes` (noncurrent versions included). AWS sends
   * them once a day; Stratus sends a sample whenever the bucket's contents settle after a
   * change, so a day's Maximum (or its last sample) is the figure AWS would report.
   */
  private publish(
    scope: { account: string; region: string },
    bucket: string,
    bytes: number,
    objects: number,
    at: number,
  ): void {
    const sink = this.metrics;
    if (!sink?.enabled) return;
    const dims = (storageType: string) => [
      { Name: 'BucketName', Value: bucket },
      { Name: 'StorageType', Value: storageType },
    ];
    sink.put(scope, 'AWS/S3', 'BucketSizeBytes', dims('StandardStorage'), bytes, 'Bytes', at);
    sink.put(scope, 'AWS/S3', 'NumberOfObjects', dims('AllStorageTypes'), objects, 'Count', at);
  }

  stop(): void {
    for (const t of this.due.values()) clearTimeout(t);
    this.due.clear();
  }
}
