/**
 * Operations whose resources live in services Stratus does not run, answered as AWS answers
 * when the resource they name does not exist (never a pretended success):
 *  - OpenSearch integrations (PutIntegration needs an OpenSearch Service application or
 *    collection): https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutIntegration.html
 *  - S3 Tables integrations: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateSourceToS3TableIntegration.html
 *  - import tasks, whose only source is a CloudTrail Lake event data store:
 *    "Currently, CloudTrail Event Data Store is the only supported data source."
 *    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateImportTask.html
 * Lists are empty: no such resource can exist in Stratus.
 */
import {
  InvalidParameterException,
  ResourceNotFoundException,
  ValidationException,
} from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import { parseArn } from '../../shared/arn.js';

type Ops = Pick<
  LogsOperations,
  | 'PutIntegration'
  | 'GetIntegration'
  | 'DeleteIntegration'
  | 'ListIntegrations'
  | 'AssociateSourceToS3TableIntegration'
  | 'DisassociateSourceFromS3TableIntegration'
  | 'ListSourcesForS3TableIntegration'
  | 'CreateImportTask'
  | 'CancelImportTask'
  | 'DescribeImportTasks'
  | 'DescribeImportTaskBatches'
>;

const integrationNotFound = (name: string) =>
  new ResourceNotFoundException(`Integration ${name} does not exist.`);
const s3TablesNotFound = (arn: string) =>
  new ResourceNotFoundException(`S3 Tables integration ${arn} does not exist.`);
const importNotFound = (id: string) =>
  new ResourceNotFoundException(`Import task ${id} does not exist.`);

export function integrationOperations(): Ops {
  return {
    async PutIntegration(input) {
      if (input.integrationType !== 'OPENSEARCH') {
        throw new ValidationException(`Unsupported integrationType: ${input.integrationType}`);
      }
      const config = input.resourceConfig.openSearchResourceConfig;
      if (!config) throw new InvalidParameterException('openSearchResourceConfig is required.');
      // The OpenSearch Service resources the integration creates or reuses cannot exist here.
      const target = config.applicationArn ?? 'an OpenSearch Service collection';
      throw new InvalidParameterException(
        `Cannot create integration ${input.integrationName}: ${target} is not available; Stratus does not run Amazon OpenSearch Service.`,
      );
    },
    async GetIntegration(input) {
      throw integrationNotFound(input.integrationName);
    },
    async DeleteIntegration(input) {
      throw integrationNotFound(input.integrationName);
    },
    async ListIntegrations() {
      return { integrationSummaries: [] };
    },

    async AssociateSourceToS3TableIntegration(input) {
      throw s3TablesNotFound(input.integrationArn);
    },
    async DisassociateSourceFromS3TableIntegration(input) {
      throw new ResourceNotFoundException(`Source ${input.identifier} does not exist.`);
    },
    async ListSourcesForS3TableIntegration(input) {
      throw s3TablesNotFound(input.integrationArn);
    },

    async CreateImportTask(input) {
      const source = parseArn(input.importSourceArn);
      if (source?.service !== 'cloudtrail' || !source.resource.startsWith('eventdatastore/')) {
        throw new InvalidParameterException(
          `Invalid importSourceArn ${input.importSourceArn}: the source must be a CloudTrail Lake event data store.`,
        );
      }
      throw new ResourceNotFoundException(
        `Event data store ${input.importSourceArn} does not exist.`,
      );
    },
    async CancelImportTask(input) {
      throw importNotFound(input.importId);
    },
    async DescribeImportTasks(input) {
      if (input.importId !== undefined) throw importNotFound(input.importId);
      return { imports: [] };
    },
    async DescribeImportTaskBatches(input) {
      throw importNotFound(input.importId);
    },
  };
}
