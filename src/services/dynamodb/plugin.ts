/** DynamoDB (json 1.0 `DynamoDB_20120810`): tables and items kept in the metadata store. */
import type { DynamodbOperations } from '../../api/dynamodb/operations.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { dynamodbOperations } from './provider.js';
import { createLogger } from '../../shared/log.js';
import { type DynamoStreamSource, StoredStreams } from './streams.js';
import { TtlSweeper, ttlIntervalMs } from './ttl.js';

export type { DynamoStreamSource, StoredStreamRecord, StreamInfo } from './streams.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** Tables' stream records (the DynamoDB Streams API, Lambda event source mappings). */
    dynamodbStreams: DynamoStreamSource;
  }
}

export const dynamodbPlugin = definePlugin({
  name: 'dynamodb',
  provides: ['dynamodbStreams'],
  model: async () => (await import('../../api/dynamodb/model.js')).model,
  create(deps) {
    const log = createLogger(deps.config.logLevel, deps.config.logFormat);
    const ttl = new TtlSweeper(deps.store, ttlIntervalMs(process.env), (msg, err) =>
      log.warn(msg, { error: err instanceof Error ? err.message : String(err) }),
    );
    return {
      dispatch: bindProvider<DynamodbOperations>(
        dynamodbOperations({ store: deps.store, now: Date.now }),
      ),
      provides: { dynamodbStreams: new StoredStreams(deps.store) },
      async start() {
        ttl.start();
      },
      async stop() {
        await ttl.stop();
      },
    };
  },
});
