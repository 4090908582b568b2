/**
 * AWS Batch's operations (rest-json, https://docs.aws.amazon.com/batch/latest/APIReference/),
 * one module per resource. Operations not listed (service environments, consumable
 * resources, quota shares, service jobs, queue snapshots) answer NotImplemented.
 */
import type { BatchOperations } from '../../api/batch/operations.js';
import type { BatchDeps } from './common.js';
import { definitionOperations } from './definitions.js';
import { environmentOperations } from './environments.js';
import { jobOperations } from './jobs-api.js';
import { policyOperations } from './policies.js';
import { queueOperations } from './queues.js';
import { tagOperations } from './tags.js';

export function batchOperations(deps: BatchDeps): Partial<BatchOperations> {
  return {
    ...environmentOperations(deps),
    ...queueOperations(deps),
    ...policyOperations(deps),
    ...definitionOperations(deps),
    ...jobOperations(deps),
    ...tagOperations(deps),
  };
}
