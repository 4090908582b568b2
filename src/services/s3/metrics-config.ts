/**
 * S3 request metrics: a bucket's metrics configurations (PutBucketMetricsConfiguration and
 * its Get, Delete and List), and the `AWS/S3` request metrics they turn on, by `BucketName`
 * and `FilterId` (https://docs.aws.amazon.com/AmazonS3/latest/userguide/metrics-dimensions.html):
 * `AllRequests`, `GetRequests`, `PutRequests`, `DeleteRequests`, `HeadRequests`,
 * `PostRequests`, `ListRequests`, `4xxErrors`, `5xxErrors` (1 or 0 per request, so the
 * Average is the error rate), `TotalRequestLatency` and `BytesUploaded`/`BytesDownloaded`.
 * A configuration's filter selects requests by key prefix; filters on object tags or
 * access points match nothing here (the request path does not read tags).
 * "Request metrics are available at 1-minute intervals after some latency to process".
 */
import type { S3Operations } from '../../api/s3/operations.js';
import type { MetricsConfiguration } from '../../api/s3/types.js';
import type { MetricSink } from '../../events/metrics.js';
import type { MetadataStore } from '../../storage/types.js';
import { requireBucket, type S3Deps } from './common.js';
import { S3Errors } from './errors.js';
import { BUCKETS, type BucketRecord } from './store.js';
import { BoundedMap } from '../../shared/bounded-map.js';

type MetricsOps = Pick<
  S3Operations,
  | 'PutBucketMetricsConfiguration'
  | 'GetBucketMetricsConfiguration'
  | 'DeleteBucketMetricsConfiguration'
  | 'ListBucketMetricsConfigurations'
>;

/** "You can create up to 1,000 metrics configurations per bucket." */
const MAX_CONFIGURATIONS = 1000;
const PAGE = 100;

export function metricsConfigOperations(
  deps: S3Deps,
  changed: (bucket: string) => void,
): MetricsOps {
  const { store } = deps;
  const configs = (b: BucketRecord) => (b as BucketWithMetrics).metrics ?? {};
  return {
    async PutBucketMetricsConfiguration(input, ctx) {
      const c = input.MetricsConfiguration;
      if (c.Id !== input.Id) {
        throw S3Errors.invalidArgument(
          'Configuration id in the request must match the id in the configuration.',
          'id',
          input.Id,
        );
      }
      await store.transaction(async (tx) => {
        const bucket = (await requireBucket(tx, input.Bucket, ctx)) as BucketWithMetrics;
        const all = configs(bucket);
        if (!(input.Id in all) && Object.keys(all).length >= MAX_CONFIGURATIONS) {
          throw S3Errors.tooManyConfigurations();
        }
        bucket.metrics = { ...all, [input.Id]: c };
        await tx.put(BUCKETS, input.Bucket, bucket);
      });
      changed(input.Bucket);
    },

    async GetBucketMetricsConfiguration(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const c = configs(bucket)[input.Id];
      if (!c) throw S3Errors.noSuchConfiguration();
      return { MetricsConfiguration: c };
    },

    async DeleteBucketMetricsConfiguration(input, ctx) {
      await store.transaction(async (tx) => {
        const bucket = (await requireBucket(tx, input.Bucket, ctx)) as BucketWithMetrics;
        const all = { ...configs(bucket) };
        if (!(input.Id in all)) throw S3Errors.noSuchConfiguration();
        delete all[input.Id];
        bucket.metrics = all;
        await tx.put(BUCKETS, input.Bucket, bucket);
      });
      changed(input.Bucket);
    },

    async ListBucketMetricsConfigurations(input, ctx) {
      const bucket = await requireBucket(store, input.Bucket, ctx);
      const all = Object.values(configs(bucket)).sort((a, b) => (a.Id < b.Id ? -1 : 1));
      const from = input.ContinuationToken
        ? all.findIndex((c) => c.Id > (input.ContinuationToken as string))
        : 0;
      const page = from < 0 ? [] : all.slice(from, from + PAGE);
      const more = from >= 0 && from + PAGE < all.length;
      return {
        IsTruncated: more,
        ...(input.ContinuationToken !== undefined && {
          ContinuationToken: input.ContinuationToken,
        }),
        ...(more && { NextContinuationToken: page[page.length - 1]?.Id }),
        ...(page.length > 0 && { MetricsConfigurationList: page }),
      };
    },
  };
}

interface BucketWithMetrics extends BucketRecord {
  metrics?: Record<string, MetricsConfiguration>;
}

/** The request metric an operation counts in, besides AllRequests. */
function kindOf(operation: string): string | undefined {
  if (operation === 'GetObject') return 'GetRequests';
  if (operation === 'PutObject' || operation === 'CopyObject' || operation === 'UploadPart')
    return 'PutRequests';
  if (operation === 'DeleteObject' || operation === 'DeleteObjects') return 'DeleteRequests';
  if (operation === 'HeadObject' || operation === 'HeadBucket') return 'HeadRequests';
  if (
    operation === 'CreateMultipartUpload' ||
    operation === 'CompleteMultipartUpload' ||
    operation === 'PostObject'
  )
    return 'PostRequests';
  if (/^List/.test(operation)) return 'ListRequests';
  return undefined;
}

function matches(c: MetricsConfiguration, key: string): boolean {
  const f = c.Filter;
  if (!f) return true;
  if (f.Tag || f.AccessPointArn || f.And?.Tags?.length || f.And?.AccessPointArn) return false;
  const prefix = f.Prefix ?? f.And?.Prefix ?? '';
  return key.startsWith(prefix);
}

/** One finished request, as the request metrics see it. */
export interface S3Request {
  account: string;
  region: string;
  operation: string;
  bucket: string;
  key: string;
  status: number;
  latencyMs: number;
  uploaded: number;
  downloaded: number;
}

/**
 * Publishes request metrics for buckets that have configurations. Buckets' configurations
 * are read once and kept (the configuration operations tell it when they change), so a
 * request to a bucket without any costs one map lookup.
 */
export class RequestMetrics {
  private readonly known = new BoundedMap<string, Promise<MetricsConfiguration[]>>(10_000);

  constructor(
    private readonly store: MetadataStore,
    private readonly sink: MetricSink | undefined,
  ) {}

  changed(bucket: string): void {
    this.known.delete(bucket);
  }

  private configs(bucket: string): Promise<MetricsConfiguration[]> {
    let p = this.known.get(bucket);
    if (!p) {
      p = this.store
        .get<BucketWithMetrics>(BUCKETS, bucket)
        .then((b) => Object.values(b?.metrics ?? {}))
        .catch(() => []);
      // Requests name any bucket, existing or not: the map is bounded.
      this.known.set(bucket, p);
    }
    return p;
  }

  record(r: S3Request): void {
    const sink = this.sink;
    if (!sink?.enabled || r.bucket === '') return;
    void this.configs(r.bucket).then((configs) => {
      if (configs.length === 0) return;
      const kind = kindOf(r.operation);
      const scope = { account: r.account, region: r.region };
      for (const c of configs) {
        if (!matches(c, r.key)) continue;
        const dims = [
          { Name: 'BucketName', Value: r.bucket },
          { Name: 'FilterId', Value: c.Id },
        ];
        const put = (name: string, value: number, unit = 'Count') =>
          sink.put(scope, 'AWS/S3', name, dims, value, unit);
        put('AllRequests', 1);
        if (kind) put(kind, 1);
        put('4xxErrors', r.status >= 400 && r.status < 500 ? 1 : 0);
        put('5xxErrors', r.status >= 500 ? 1 : 0);
        put('TotalRequestLatency', Math.round(r.latencyMs), 'Milliseconds');
        if (r.uploaded > 0) put('BytesUploaded', r.uploaded, 'Bytes');
        if (r.downloaded > 0) put('BytesDownloaded', r.downloaded, 'Bytes');
      }
    });
  }
}
