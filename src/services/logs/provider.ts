/**
 * CloudWatch Logs (json 1.1, `Logs_20140328`), one module per resource: groups.ts (and
 * retention, deletion protection, KMS key), group-fields.ts, exports.ts (to S3), transformers.ts, streams.ts, events.ts (ingestion and reads), tags.ts, filters.ts (metric and
 * subscription filters), policies.ts, destinations.ts, deliveries.ts, anomaly-detectors.ts, queries.ts (Logs Insights, language in insights/),
 * query-definitions.ts, live-tail.ts, scheduled-queries.ts, lookup-tables.ts, field-indexes.ts,
 * integrations.ts (OpenSearch, S3 Tables and import sources Stratus does not run).
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/Welcome.html
 */
import { anomalyDetectorOperations } from './anomaly-detectors.js';
import type { LogsDeps } from './common.js';
import { deliveryOperations } from './deliveries.js';
import { destinationOperations } from './destinations.js';
import { eventOperations } from './events.js';
import { exportOperations } from './exports.js';
import { filterOperations } from './filters.js';
import { fieldOperations } from './group-fields.js';
import { groupOperations } from './groups.js';
import { liveTailOperations } from './live-tail.js';
import { policyOperations } from './policies.js';
import { queryOperations } from './queries.js';
import { queryDefinitionOperations } from './query-definitions.js';
import { streamOperations } from './streams.js';
import { tagOperations } from './tags.js';
import { transformerOperations } from './transformers.js';
import { scheduledQueryOperations } from './scheduled-queries.js';
import { lookupTableOperations } from './lookup-tables.js';
import { fieldIndexOperations } from './field-indexes.js';
import { integrationOperations } from './integrations.js';

export function logsOperations(deps: LogsDeps) {
  return {
    ...groupOperations(deps),
    ...fieldOperations(deps),
    ...exportOperations(deps),
    ...transformerOperations(deps),
    ...streamOperations(deps),
    ...eventOperations(deps),
    ...tagOperations(deps),
    ...filterOperations(deps),
    ...policyOperations(deps),
    ...destinationOperations(deps),
    ...deliveryOperations(deps),
    ...anomalyDetectorOperations(deps),
    ...queryOperations(deps),
    ...queryDefinitionOperations(deps),
    ...liveTailOperations(deps),
    ...scheduledQueryOperations(deps),
    ...lookupTableOperations(deps),
    ...fieldIndexOperations(deps),
    ...integrationOperations(),
  };
}

/** The operations Stratus implements; the gateway answers NotImplemented for the rest. */
export type LogsProviderOps = ReturnType<typeof logsOperations>;
