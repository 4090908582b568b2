/** DynamoDB's operations: the per-resource modules, spread into one provider. */
import type { DynamodbOperations } from '../../api/dynamodb/operations.js';
import { batchOperations } from './batch.js';
import type { DynamoDeps } from './common.js';
import { itemOperations } from './items.js';
import { readOperations } from './read.js';
import { tableOperations } from './tables.js';

export function dynamodbOperations(deps: DynamoDeps): Partial<DynamodbOperations> {
  return {
    ...tableOperations(deps),
    ...itemOperations(deps),
    ...readOperations(deps),
    ...batchOperations(deps),
  };
}
