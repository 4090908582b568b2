/**
 * Destinations: the receiving end of cross-account subscriptions (a Kinesis stream, a
 * Firehose stream or a Lambda function behind a role, with an access policy).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CreateDestination.html
 */
import { ResourceNotFoundException } from '../../api/logs/errors.js';
import type { LogsOperations } from '../../api/logs/operations.js';
import type { Destination } from '../../api/logs/types.js';
import { buildArn } from '../../shared/arn.js';
import { checkJsonDocument, pageList, scopeOf, type LogsDeps } from './common.js';
import { DESTINATIONS, scopePrefix } from './store.js';

type DestinationOps = Pick<
  LogsOperations,
  'PutDestination' | 'PutDestinationPolicy' | 'DescribeDestinations' | 'DeleteDestination'
>;

export interface DestinationRecord extends Destination {
  destinationName: string;
  tags: Record<string, string>;
}

const notFound = () => new ResourceNotFoundException('The specified destination does not exist.');

export const view = ({ tags: _tags, ...d }: DestinationRecord): Destination => d;

export function destinationOperations(deps: LogsDeps): DestinationOps {
  const { store } = deps;

  return {
    async PutDestination(input, ctx) {
      const scope = scopeOf(ctx);
      const key = scopePrefix(scope) + input.destinationName;
      const rec = await store.transaction(async (tx) => {
        const old = await tx.get<DestinationRecord>(DESTINATIONS, key);
        const rec: DestinationRecord = old ?? {
          destinationName: input.destinationName,
          arn: buildArn(
            'logs',
            scope.region,
            scope.account,
            `destination:${input.destinationName}`,
          ),
          creationTime: deps.now(),
          tags: input.tags ?? {},
        };
        rec.targetArn = input.targetArn;
        rec.roleArn = input.roleArn;
        await tx.put(DESTINATIONS, key, rec);
        return rec;
      });
      return { destination: view(rec) };
    },

    async PutDestinationPolicy(input, ctx) {
      checkJsonDocument(input.accessPolicy, 'access policy');
      const key = scopePrefix(scopeOf(ctx)) + input.destinationName;
      await store.transaction(async (tx) => {
        const rec = await tx.get<DestinationRecord>(DESTINATIONS, key);
        if (!rec) throw notFound();
        rec.accessPolicy = input.accessPolicy;
        await tx.put(DESTINATIONS, key, rec);
      });
    },

    async DescribeDestinations(input, ctx) {
      const rows = await store.list<DestinationRecord>(DESTINATIONS, {
        prefix: scopePrefix(scopeOf(ctx)) + (input.DestinationNamePrefix ?? ''),
      });
      const page = pageList(
        rows.map((r) => view(r.value)),
        (d) => d.destinationName ?? '',
        input.nextToken,
        input.limit,
        50,
      );
      return page.nextToken === undefined
        ? { destinations: page.items }
        : { destinations: page.items, nextToken: page.nextToken };
    },

    async DeleteDestination(input, ctx) {
      const key = scopePrefix(scopeOf(ctx)) + input.destinationName;
      await store.transaction(async (tx) => {
        if (!(await tx.get(DESTINATIONS, key))) throw notFound();
        await tx.delete(DESTINATIONS, key);
      });
    },
  };
}
