/**
 * CloudWatch Logs (json 1.1, `Logs_20140328`), one module per resource: groups.ts (and
 * retention), streams.ts, events.ts (ingestion and reads), tags.ts.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/Welcome.html
 */
import type { LogsDeps } from './common.js';
import { eventOperations } from './events.js';
import { groupOperations } from './groups.js';
import { streamOperations } from './streams.js';
import { tagOperations } from './tags.js';

export function logsOperations(deps: LogsDeps) {
  return {
    ...groupOperations(deps),
    ...streamOperations(deps),
    ...eventOperations(deps),
    ...tagOperations(deps),
  };
}

/** The operations Stratus implements; the gateway answers NotImplemented for the rest. */
export type LogsProviderOps = ReturnType<typeof logsOperations>;
