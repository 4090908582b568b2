/**
 * Saved Logs Insights queries: PutQueryDefinition, DescribeQueryDefinitions and
 * DeleteQueryDefinition.
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutQueryDefinition.html
 */
import { randomUUID } from 'node:crypto';
import type { LogsOperations } from '../../api/logs/operations.js';
import { ResourceNotFoundException } from '../../api/logs/errors.js';
import type { QueryDefinition } from '../../api/logs/types.js';
import { invalid, type LogsDeps, pageList, scopeOf } from './common.js';
import { QUERY_DEFINITIONS, scopePrefix } from './store.js';

type DefinitionOps = Pick<
  LogsOperations,
  'PutQueryDefinition' | 'DescribeQueryDefinitions' | 'DeleteQueryDefinition'
>;

/** "DescribeQueryDefinitions … maxResults … 1000" is the model's bound; AWS's default. */
const MAX_RESULTS = 1000;

const notFound = (): ResourceNotFoundException =>
  new ResourceNotFoundException('The specified query definition does not exist.');

export function queryDefinitionOperations(deps: LogsDeps): DefinitionOps {
  return {
    async PutQueryDefinition(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.queryLanguage !== undefined && input.queryLanguage !== 'CWLI') {
        throw invalid(
          `Query language ${input.queryLanguage} is not supported by Stratus; use CWLI.`,
        );
      }
      const id = input.queryDefinitionId ?? randomUUID();
      const key = scopePrefix(scope) + id;
      await deps.store.transaction(async (tx) => {
        if (input.queryDefinitionId !== undefined && !(await tx.get(QUERY_DEFINITIONS, key))) {
          throw notFound();
        }
        const def: QueryDefinition = {
          queryLanguage: 'CWLI',
          queryDefinitionId: id,
          name: input.name,
          queryString: input.queryString,
          lastModified: deps.now(),
        };
        if (input.logGroupNames?.length) def.logGroupNames = input.logGroupNames;
        if (input.parameters?.length) def.parameters = input.parameters;
        await tx.put(QUERY_DEFINITIONS, key, def);
      });
      return { queryDefinitionId: id };
    },

    async DescribeQueryDefinitions(input, ctx) {
      const items = await deps.store.list<QueryDefinition>(QUERY_DEFINITIONS, {
        prefix: scopePrefix(scopeOf(ctx)),
      });
      const prefix = input.queryDefinitionNamePrefix ?? '';
      const all = items
        .map((i) => i.value)
        .filter((d) => (d.name ?? '').startsWith(prefix))
        .sort((a, b) =>
          (a.name ?? '') === (b.name ?? '')
            ? (a.queryDefinitionId ?? '') < (b.queryDefinitionId ?? '')
              ? -1
              : 1
            : (a.name ?? '') < (b.name ?? '')
              ? -1
              : 1,
        );
      const page = pageList(
        all,
        (d) => d.queryDefinitionId ?? '',
        input.nextToken,
        input.maxResults,
        MAX_RESULTS,
      );
      return page.nextToken === undefined
        ? { queryDefinitions: page.items }
        : { queryDefinitions: page.items, nextToken: page.nextToken };
    },

    async DeleteQueryDefinition(input, ctx) {
      const key = scopePrefix(scopeOf(ctx)) + input.queryDefinitionId;
      await deps.store.transaction(async (tx) => {
        if (!(await tx.get(QUERY_DEFINITIONS, key))) throw notFound();
        await tx.delete(QUERY_DEFINITIONS, key);
      });
      return { success: true };
    },
  };
}
