/**
 * DynamoDB Streams (json 1.0 `DynamoDBStreams_20120810`, signed for `dynamodb`): the
 * records DynamoDB appends for each write to a table with a stream, read through the
 * `dynamodbStreams` link.
 */
import type { DynamodbstreamsOperations } from '../../api/dynamodbstreams/operations.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { streamsOperations } from './provider.js';

export const dynamodbstreamsPlugin = definePlugin({
  name: 'dynamodbstreams',
  needs: ['dynamodbStreams'],
  model: async () => (await import('../../api/dynamodbstreams/model.js')).model,
  create(deps) {
    return {
      dispatch: bindProvider<DynamodbstreamsOperations>(
        streamsOperations({ streams: deps.links.dynamodbStreams, now: Date.now }),
      ),
    };
  },
});
