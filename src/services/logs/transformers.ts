/**
 * Log transformers: a group's processor list (Put/Get/DeleteTransformer) and TestTransformer,
 * which runs processors over sample messages (the processors are in transform/). Every event
 * ingested into a group with a transformer is transformed by ingest.ts: "CloudWatch Logs
 * performs the transformations at the time of log ingestion. You can then refer to the
 * transformed versions of the logs during operations such as querying with CloudWatch Logs
 * Insights or creating metric filters or subscription filers."
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutTransformer.html
 */
import { randomUUID } from 'node:crypto';
import { ResourceNotFoundException } from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type {
  DeleteTransformerRequest,
  GetTransformerRequest,
  GetTransformerResponse,
  Processor,
  PutTransformerRequest,
  TestTransformerRequest,
  TestTransformerResponse,
} from '../../api/logs/types.js';
import type { RequestContext } from '../../shared/context.js';
import { groupNotFound, type LogsDeps, resolveGroupName, scopeOf } from './common.js';
import { compileTransformer } from './transform/processors.js';
import { GROUPS, type GroupRecord, groupKey, TRANSFORMERS } from './store.js';

export interface TransformerRecord {
  creationTime: number;
  lastModifiedTime: number;
  processors: Processor[];
  /** Changes with every PutTransformer: ingestion's compiled copy is keyed by it. */
  revision?: string;
}

type TransformerOps = Pick<
  LogsOperations,
  'PutTransformer' | 'GetTransformer' | 'DeleteTransformer' | 'TestTransformer'
>;

export function transformerOperations(deps: LogsDeps): TransformerOps {
  const { store } = deps;

  async function groupKeyOf(identifier: string, ctx: RequestContext): Promise<string> {
    const scope = scopeOf(ctx);
    const key = groupKey(scope, resolveGroupName({ logGroupIdentifier: identifier }, scope));
    if (!(await store.get<GroupRecord>(GROUPS, key))) throw groupNotFound();
    return key;
  }

  return {
    async PutTransformer(input: PutTransformerRequest, ctx: RequestContext): Promise<void> {
      compileTransformer(input.transformerConfig);
      const key = await groupKeyOf(input.logGroupIdentifier, ctx);
      const now = deps.now();
      await store.transaction(async (tx) => {
        const old = await tx.get<TransformerRecord>(TRANSFORMERS, key);
        await tx.put(TRANSFORMERS, key, {
          creationTime: old?.creationTime ?? now,
          lastModifiedTime: now,
          processors: input.transformerConfig,
          revision: randomUUID(),
        } satisfies TransformerRecord);
      });
    },

    async GetTransformer(
      input: GetTransformerRequest,
      ctx: RequestContext,
    ): Promise<GetTransformerResponse> {
      const key = await groupKeyOf(input.logGroupIdentifier, ctx);
      const t = await store.get<TransformerRecord>(TRANSFORMERS, key);
      if (!t) throw new ResourceNotFoundException('Transformer does not exist for the log group.');
      return {
        logGroupIdentifier: input.logGroupIdentifier,
        creationTime: t.creationTime,
        lastModifiedTime: t.lastModifiedTime,
        transformerConfig: t.processors,
      };
    },

    async DeleteTransformer(input: DeleteTransformerRequest, ctx: RequestContext): Promise<void> {
      const key = await groupKeyOf(input.logGroupIdentifier, ctx);
      if (!(await store.delete(TRANSFORMERS, key))) {
        throw new ResourceNotFoundException('Transformer does not exist for the log group.');
      }
    },

    TestTransformer(
      input: TestTransformerRequest,
      ctx: RequestContext,
    ): Promise<TestTransformerResponse> {
      const transform = compileTransformer(input.transformerConfig);
      const origin = { account: ctx.account, region: ctx.region, group: '', stream: '' };
      return Promise.resolve({
        transformedLogs: input.logEventMessages.map((m, i) => {
          const doc = transform(m, origin);
          return {
            eventNumber: i + 1,
            eventMessage: m,
            transformedEventMessage: doc === undefined ? '' : JSON.stringify(doc),
          };
        }),
      });
    },
  };
}
