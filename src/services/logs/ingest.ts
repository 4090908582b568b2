/**
 * The one way events enter a stream (PutLogEvents and the LogSink other services write
 * through): the group's transformer, if any, rewrites each message into its transformed
 * JSON before the events are stored, so reads, Insights, metric filters, subscription
 * filters and Live Tail all see the transformed event, as AWS describes. An event a parser
 * cannot read is stored as it came.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Transformation.html
 */
import type { MetadataOps } from '../../storage/types.js';
import { compileTransformer, type CompiledTransformer } from './transform/processors.js';
import type { TransformerRecord } from './transformers.js';
import {
  appendEvents,
  groupKey,
  type NewEvent,
  type Scope,
  streamKey,
  type StreamRecord,
  TRANSFORMERS,
} from './store.js';
import { BoundedMap } from '../../shared/bounded-map.js';

/** Compiled transformers by group key, each with the revision it was compiled from.
 * Bounded: groups with transformers are few, but keys never expire otherwise. */
const compiled = new BoundedMap<string, { revision: string; run: CompiledTransformer }>(10_000);

function transformerOf(gKey: string, rec: TransformerRecord): CompiledTransformer | undefined {
  const revision = rec.revision ?? `${rec.creationTime}:${rec.lastModifiedTime}`;
  const hit = compiled.get(gKey);
  if (hit?.revision === revision) return hit.run;
  let run: CompiledTransformer;
  try {
    run = compileTransformer(rec.processors);
  } catch {
    return undefined; // stored before a validation rule existed: ingest untransformed
  }
  compiled.set(gKey, { revision, run });
  return run;
}

/**
 * Transforms and appends events to a stream inside the caller's transaction (the stream
 * record read in it); returns the events as stored, for subscriptions and Live Tail.
 */
export async function ingestEvents(
  tx: MetadataOps,
  scope: Scope,
  group: string,
  stream: string,
  streamRecord: StreamRecord,
  events: readonly NewEvent[],
  ingestionTime: number,
): Promise<readonly NewEvent[]> {
  if (events.length === 0) return events;
  const gKey = groupKey(scope, group);
  const rec = await tx.get<TransformerRecord>(TRANSFORMERS, gKey);
  const run = rec && transformerOf(gKey, rec);
  let stored = events;
  if (run) {
    const origin = { account: scope.account, region: scope.region, group, stream };
    stored = events.map((ev) => {
      const doc = run(ev.message, origin);
      return doc === undefined ? ev : { timestamp: ev.timestamp, message: JSON.stringify(doc) };
    });
  }
  await appendEvents(tx, streamKey(gKey, stream), streamRecord, stored, ingestionTime);
  return stored;
}
