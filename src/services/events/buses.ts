/** Event buses: `default` exists in every account and region; custom buses are created. */
import type { EventsOperations } from '../../api/events/operations.js';
import { ResourceAlreadyExistsException } from '../../api/events/errors.js';
import { pageArray } from '../../shared/paging.js';
import {
  busArn,
  DEFAULT_BUS,
  findBus,
  invalidToken,
  requireBus,
  scopeOf,
  validation,
  type EventsDeps,
} from './common.js';
import {
  BUSES_TABLE,
  busKey,
  busPrefix,
  RULES_TABLE,
  rulePrefix,
  type BusRecord,
} from './store.js';

type BusOps = Pick<
  EventsOperations,
  'CreateEventBus' | 'DeleteEventBus' | 'DescribeEventBus' | 'ListEventBuses' | 'UpdateEventBus'
>;

const view = (b: BusRecord) => ({
  Name: b.name,
  Arn: b.arn,
  ...(b.description !== undefined && { Description: b.description }),
  ...(b.policy !== undefined && { Policy: b.policy }),
  ...(b.createdAt && {
    CreationTime: new Date(b.createdAt),
    LastModifiedTime: new Date(b.modifiedAt),
  }),
});

export function busOperations(deps: EventsDeps): BusOps {
  return {
    async CreateEventBus(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.Name === DEFAULT_BUS || input.Name.startsWith('aws.')) {
        throw validation(`Event bus name ${input.Name} is reserved.`);
      }
      if (input.EventSourceName !== undefined) {
        throw validation('Partner event sources are not available in Stratus.');
      }
      const now = deps.now();
      const record: BusRecord = {
        name: input.Name,
        arn: busArn(scope, input.Name),
        tags: input.Tags ?? [],
        createdAt: now,
        modifiedAt: now,
        ...(input.Description !== undefined && { description: input.Description }),
      };
      if (!(await deps.store.insert(BUSES_TABLE, busKey(scope, input.Name), record))) {
        throw new ResourceAlreadyExistsException(`Event bus ${input.Name} already exists.`);
      }
      return {
        EventBusArn: record.arn,
        ...(record.description !== undefined && { Description: record.description }),
      };
    },
    async UpdateEventBus(input, ctx) {
      const scope = scopeOf(ctx);
      const bus = await requireBus(deps, scope, input.Name);
      if (bus.name === DEFAULT_BUS && !bus.createdAt) {
        bus.createdAt = deps.now();
      }
      if (input.Description !== undefined) bus.description = input.Description;
      bus.modifiedAt = deps.now();
      await deps.store.put(BUSES_TABLE, busKey(scope, bus.name), bus);
      return {
        Arn: bus.arn,
        Name: bus.name,
        ...(bus.description !== undefined && { Description: bus.description }),
      };
    },
    async DeleteEventBus(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.Name === DEFAULT_BUS) throw validation('Cannot delete event bus default.');
      // Deleting a bus that does not exist succeeds, as in AWS.
      if (await deps.store.count(RULES_TABLE, rulePrefix(scope, input.Name))) {
        throw validation(`Cannot delete event bus ${input.Name} while it has rules.`);
      }
      await deps.store.delete(BUSES_TABLE, busKey(scope, input.Name));
    },
    async DescribeEventBus(input, ctx) {
      const bus = await requireBus(deps, scopeOf(ctx), input.Name);
      return view(bus);
    },
    async ListEventBuses(input, ctx) {
      const scope = scopeOf(ctx);
      const stored = (
        await deps.store.list<BusRecord>(BUSES_TABLE, { prefix: busPrefix(scope) })
      ).map((r) => r.value);
      const all: BusRecord[] = stored.some((b) => b.name === DEFAULT_BUS)
        ? stored
        : [(await findBus(deps, scope, DEFAULT_BUS)) as BusRecord, ...stored];
      all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const matching = all.filter((b) => !input.NamePrefix || b.name.startsWith(input.NamePrefix));
      const page = pageArray(matching, (b) => b.name, {
        marker: input.NextToken,
        max: input.Limit ?? 100,
        resume: 'after',
        invalid: invalidToken,
      });
      return { EventBuses: page.items.map(view), ...(page.next && { NextToken: page.next }) };
    },
  };
}
