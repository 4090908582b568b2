/** Schedule groups: `default` always exists; deleting a group deletes its schedules. */
import type { SchedulerOperations } from '../../api/scheduler/operations.js';
import { ConflictException, ValidationException } from '../../api/scheduler/errors.js';
import { pageArray } from '../../shared/paging.js';
import {
  DEFAULT_GROUP,
  findGroup,
  groupArn,
  invalidToken,
  requireGroup,
  scopeOf,
  type SchedulerDeps,
} from './common.js';
import {
  GROUPS_TABLE,
  groupKey,
  SCHEDULES_TABLE,
  scheduleKey,
  scopePrefix,
  type GroupRecord,
  type ScheduleRecord,
} from './store.js';

type GroupOps = Pick<
  SchedulerOperations,
  'CreateScheduleGroup' | 'DeleteScheduleGroup' | 'GetScheduleGroup' | 'ListScheduleGroups'
>;

const view = (g: GroupRecord) => ({
  Arn: g.arn,
  Name: g.name,
  State: 'ACTIVE' as const,
  ...(g.createdAt && {
    CreationDate: new Date(g.createdAt),
    LastModificationDate: new Date(g.modifiedAt),
  }),
});

export function groupOperations(deps: SchedulerDeps): GroupOps {
  return {
    async CreateScheduleGroup(input, ctx) {
      const scope = scopeOf(ctx);
      const now = deps.clock.now();
      const record: GroupRecord = {
        name: input.Name,
        arn: groupArn(scope, input.Name),
        tags: input.Tags ?? [],
        createdAt: now,
        modifiedAt: now,
      };
      if (
        input.Name === DEFAULT_GROUP ||
        !(await deps.store.insert(GROUPS_TABLE, groupKey(scope, input.Name), record))
      ) {
        throw new ConflictException(`Schedule group ${input.Name} already exists.`);
      }
      return { ScheduleGroupArn: record.arn };
    },
    async DeleteScheduleGroup(input, ctx) {
      const scope = scopeOf(ctx);
      if (input.Name === DEFAULT_GROUP) {
        throw new ValidationException('Cannot delete the default schedule group.');
      }
      await requireGroup(deps.store, scope, input.Name);
      const schedules = await deps.store.list<ScheduleRecord>(SCHEDULES_TABLE, {
        prefix: scheduleKey(scope, input.Name, ''),
      });
      await deps.store.transaction(async (tx) => {
        for (const s of schedules) await tx.delete(SCHEDULES_TABLE, s.key);
        await tx.delete(GROUPS_TABLE, groupKey(scope, input.Name));
      });
      for (const s of schedules) deps.schedulesChanged(undefined, s.value.arn);
      return {};
    },
    async GetScheduleGroup(input, ctx) {
      return view(await requireGroup(deps.store, scopeOf(ctx), input.Name));
    },
    async ListScheduleGroups(input, ctx) {
      const scope = scopeOf(ctx);
      const stored = (
        await deps.store.list<GroupRecord>(GROUPS_TABLE, { prefix: scopePrefix(scope) })
      ).map((r) => r.value);
      const all = [
        (await findGroup(deps.store, scope, DEFAULT_GROUP)) as GroupRecord,
        ...stored,
      ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const page = pageArray(
        all.filter((g) => !input.NamePrefix || g.name.startsWith(input.NamePrefix)),
        (g) => g.name,
        {
          marker: input.NextToken,
          max: input.MaxResults ?? 100,
          resume: 'after',
          invalid: invalidToken,
        },
      );
      return { ScheduleGroups: page.items.map(view), ...(page.next && { NextToken: page.next }) };
    },
  };
}
