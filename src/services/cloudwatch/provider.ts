/**
 * CloudWatch metrics (smithy-rpc-v2-cbor, awsJson 1.0 and query: the gateway answers in
 * whichever the request speaks), one module per resource: metrics-api.ts (data in and
 * out), alarms-api.ts, dashboards-api.ts (dashboards and alarm tags), anomaly-api.ts
 * (anomaly detectors), insights-api.ts (Contributor Insights), mute-rules.ts (alarm mute
 * rules), unhosted-api.ts (metric streams and the other operations whose target Stratus
 * does not host).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/Welcome.html
 */
import { alarmOperations } from './alarms-api.js';
import { anomalyOperations } from './anomaly-api.js';
import type { CloudwatchDeps } from './common.js';
import { dashboardOperations } from './dashboards-api.js';
import { insightOperations } from './insights-api.js';
import { metricOperations } from './metrics-api.js';
import { muteRuleOperations } from './mute-rules.js';
import { unhostedOperations } from './unhosted-api.js';

export function cloudwatchOperations(deps: CloudwatchDeps) {
  return {
    ...metricOperations(deps),
    ...alarmOperations(deps),
    ...dashboardOperations(deps),
    ...anomalyOperations(deps),
    ...muteRuleOperations(deps),
    ...unhostedOperations(deps),
    ...insightOperations(deps),
  };
}
