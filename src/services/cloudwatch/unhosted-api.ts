/**
 * The CloudWatch operations that deliver to services Stratus does not host: metric streams
 * (to Amazon Data Firehose), metric widget images (a graph renderer), OTel enrichment (the
 * OTLP metrics pipeline), and alarm contributors (of PromQL / multi-contributor alarms,
 * which Stratus's alarms never have). They answer as AWS does when the target is missing,
 * or with a validation error saying what is missing; never with a pretend success.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricStream.html
 */
import { ResourceNotFoundException } from '../../api/cloudwatch/errors.js';
import type { CloudwatchOperations } from '../../api/cloudwatch/operations.js';
import { parseArn } from '../../shared/arn.js';
import { invalidValue, scopeOf, type CloudwatchDeps } from './common.js';
import { ALARMS, alarmKey } from './store.js';

type UnhostedOps = Pick<
  CloudwatchOperations,
  | 'PutMetricStream'
  | 'GetMetricStream'
  | 'ListMetricStreams'
  | 'DeleteMetricStream'
  | 'StartMetricStreams'
  | 'StopMetricStreams'
  | 'GetMetricWidgetImage'
  | 'StartOTelEnrichment'
  | 'StopOTelEnrichment'
  | 'GetOTelEnrichment'
  | 'DescribeAlarmContributors'
>;

const noStream = (name: string) => invalidValue(`The metric stream ${name} does not exist.`);

export function unhostedOperations(deps: CloudwatchDeps): UnhostedOps {
  return {
    async PutMetricStream(input) {
      const arn = parseArn(input.FirehoseArn);
      if (!arn || arn.service !== 'firehose' || !arn.resource.startsWith('deliverystream/')) {
        throw invalidValue(`Invalid Firehose ARN: ${input.FirehoseArn}`);
      }
      if (!parseArn(input.RoleArn)) throw invalidValue(`Invalid role ARN: ${input.RoleArn}`);
      // No Firehose stream exists in Stratus, so the one named is always missing.
      throw invalidValue(
        `Firehose delivery stream ${arn.resource.slice('deliverystream/'.length)} does not exist (Stratus has no Amazon Data Firehose to stream metrics to).`,
      );
    },

    async GetMetricStream(input) {
      throw new ResourceNotFoundException(`The metric stream ${input.Name} does not exist.`);
    },

    async ListMetricStreams() {
      return { Entries: [] };
    },

    async DeleteMetricStream() {
      // Deleting a stream that does not exist succeeds, as AWS's does.
      return {};
    },

    async StartMetricStreams(input) {
      throw noStream(input.Names[0] ?? '');
    },

    async StopMetricStreams(input) {
      throw noStream(input.Names[0] ?? '');
    },

    async GetMetricWidgetImage(input) {
      try {
        JSON.parse(input.MetricWidget);
      } catch {
        throw invalidValue('The parameter MetricWidget must be valid JSON.');
      }
      throw invalidValue(
        'GetMetricWidgetImage is not available: Stratus has no graph renderer. Read the data with GetMetricData.',
      );
    },

    async StartOTelEnrichment() {
      throw invalidValue(
        'OTel enrichment is not available: Stratus has no OpenTelemetry metrics pipeline to enrich.',
      );
    },

    async StopOTelEnrichment() {
      // It never runs, so it is stopped.
      return {};
    },

    async GetOTelEnrichment() {
      return { Status: 'Stopped' };
    },

    async DescribeAlarmContributors(input, ctx) {
      const alarm = await deps.store.get(ALARMS, alarmKey(scopeOf(ctx), input.AlarmName));
      if (!alarm) {
        throw new ResourceNotFoundException(`Alarm ${input.AlarmName} does not exist.`);
      }
      // Only multi-contributor alarms have contributors; Stratus's alarms are single-series.
      return { AlarmContributors: [] };
    },
  };
}
