/** DynamoDB (json 1.0 `DynamoDB_20120810`): tables and items kept in the metadata store. */
import type { DynamodbOperations } from '../../api/dynamodb/operations.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { dynamodbOperations } from './provider.js';

export const dynamodbPlugin = definePlugin({
  name: 'dynamodb',
  model: async () => (await import('../../api/dynamodb/model.js')).model,
  create(deps) {
    return {
      dispatch: bindProvider<DynamodbOperations>(
        dynamodbOperations({ store: deps.store, now: Date.now }),
      ),
    };
  },
});
