/**
 * Amazon S3 (rest-xml): buckets, objects, listings and multipart uploads, path style
 * through the API chain and virtual-hosted style (`<bucket>.s3.localhost`) through the
 * gateway's S3 host route. Object content lives in a blob namespace of S3's own
 * (content-addressed, so identical objects share their bytes), metadata in the store.
 */
import type { S3Operations } from '../../api/s3/operations.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { BlobCollector, BlobGuard } from './gc.js';
import { applyLifecycle } from './lifecycle.js';
import { BucketNotifier, type S3EventTargets } from './notifications.js';
import { createLogger } from '../../shared/log.js';
import {
  OperationsObjectWriter,
  StoredObjectSource,
  type S3ObjectSource,
  type S3ObjectWriter,
} from './object-source.js';

export type {
  S3ObjectSource,
  S3ObjectWriter,
  S3ReadResult,
  S3WriteResult,
} from './object-source.js';
export type { LambdaEventTarget, S3EventTargets } from './notifications.js';
import { s3Operations } from './provider.js';
import { S3Meter } from './metering.js';
import { formUpload } from './post-object.js';
import { RequestMetrics } from './metrics-config.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** Objects read on a caller's behalf (Lambda's Code.S3Bucket/S3Key). */
    s3objects: S3ObjectSource;
    /** Objects written on a caller's behalf (CloudWatch Logs' export tasks). */
    s3writes: S3ObjectWriter;
    /** Where services register as targets of bucket notifications (Lambda). */
    s3events: S3EventTargets;
  }
}

/** STRATUS_S3_BLOB_GRACE_SECONDS: how long an unreferenced blob is kept before collection. */
const DEFAULT_GRACE_SECONDS = 3600;
/** How often the collector runs. */
const COLLECT_EVERY_MS = 10 * 60 * 1000;
/** STRATUS_S3_LIFECYCLE_INTERVAL_SECONDS: how often lifecycle rules are applied. */
const DEFAULT_LIFECYCLE_SECONDS = 3600;

export const s3Plugin = definePlugin({
  name: 's3',
  needs: ['bus', 'meter', 'metrics'],
  provides: ['s3objects', 's3writes', 's3events'],
  model: async () => (await import('../../api/s3/model.js')).model,
  async create(deps) {
    const blobs = await deps.blobNamespace('s3');
    const now = Date.now;
    const graceSeconds = Number(process.env.STRATUS_S3_BLOB_GRACE_SECONDS ?? DEFAULT_GRACE_SECONDS);
    const graceMs =
      (Number.isFinite(graceSeconds) && graceSeconds >= 0 ? graceSeconds : DEFAULT_GRACE_SECONDS) *
      1000;
    const guard = new BlobGuard(graceMs, now);
    const collector = new BlobCollector(deps.store, blobs, guard, graceMs, now);
    const log = createLogger(deps.config.logLevel, deps.config.logFormat);
    const notifier = new BucketNotifier(log, deps.links.bus);
    const lifecycleSeconds = Number(
      process.env.STRATUS_S3_LIFECYCLE_INTERVAL_SECONDS ?? DEFAULT_LIFECYCLE_SECONDS,
    );
    const lifecycleMs =
      (Number.isFinite(lifecycleSeconds) && lifecycleSeconds > 0
        ? lifecycleSeconds
        : DEFAULT_LIFECYCLE_SECONDS) * 1000;
    const expire = () =>
      applyLifecycle(deps.store, now()).catch((err: unknown) =>
        log.warn('S3 lifecycle rules could not be applied', { error: String(err) }),
      );
    const timers: NodeJS.Timeout[] = [];
    const requestMetrics = new RequestMetrics(deps.store, deps.links.metrics);
    const metering = new S3Meter(
      deps.store,
      deps.links.meter,
      (m) => log.warn(m),
      deps.links.metrics,
      requestMetrics,
    );
    const s3deps = { store: deps.store, blobs, now, notifier, guard };
    const operations = metering.wrap(
      s3Operations(s3deps, (bucket) => requestMetrics.changed(bucket)),
    );
    return {
      dispatch: bindProvider<S3Operations>(operations),
      formUpload: (up) => formUpload(s3deps, up, (outcome) => metering.formRequest(outcome)),
      provides: {
        s3objects: new StoredObjectSource(deps.store, blobs),
        s3writes: new OperationsObjectWriter((input, ctx) => {
          if (!operations.PutObject) throw new Error('S3 PutObject is not implemented');
          return operations.PutObject(input, ctx);
        }),
        s3events: notifier,
      },
      async start() {
        await expire();
        await collector.collect();
        timers.push(
          setInterval(() => void expire(), lifecycleMs),
          setInterval(() => void collector.collect().catch(() => undefined), COLLECT_EVERY_MS),
        );
        for (const t of timers) t.unref();
      },
      async stop() {
        for (const t of timers) clearInterval(t);
        metering.stop();
      },
      async reset() {
        await blobs.reset();
      },
    };
  },
});
