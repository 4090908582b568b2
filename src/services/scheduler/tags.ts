/** Tags on schedule groups (schedules carry none), by ARN. */
import type { SchedulerOperations } from '../../api/scheduler/operations.js';
import { ResourceNotFoundException } from '../../api/scheduler/errors.js';
import type { Tag } from '../../api/scheduler/types.js';
import { parseArn } from '../../shared/arn.js';
import { findGroup, type SchedulerDeps } from './common.js';
import { GROUPS_TABLE, groupKey } from './store.js';

type TagOps = Pick<SchedulerOperations, 'TagResource' | 'UntagResource' | 'ListTagsForResource'>;

export function tagOperations(deps: SchedulerDeps): TagOps {
  const withTags = async (arn: string, change?: (tags: Tag[]) => Tag[]): Promise<Tag[]> => {
    const parsed = parseArn(arn);
    const name = parsed?.resource.startsWith('schedule-group/')
      ? parsed.resource.slice('schedule-group/'.length)
      : undefined;
    const group =
      parsed && parsed.service === 'scheduler' && name
        ? await findGroup(deps.store, parsed, name)
        : undefined;
    if (!parsed || !group) throw new ResourceNotFoundException(`Resource ${arn} does not exist.`);
    if (change) {
      group.tags = change(group.tags);
      group.createdAt ||= deps.clock.now();
      group.modifiedAt = deps.clock.now();
      await deps.store.put(GROUPS_TABLE, groupKey(parsed, group.name), group);
    }
    return group.tags;
  };
  return {
    async TagResource(input) {
      await withTags(input.ResourceArn, (tags) => {
        const byKey = new Map(tags.map((t) => [t.Key, t]));
        for (const t of input.Tags) byKey.set(t.Key, t);
        return [...byKey.values()];
      });
      return {};
    },
    async UntagResource(input) {
      const drop = new Set(input.TagKeys);
      await withTags(input.ResourceArn, (tags) => tags.filter((t) => !drop.has(t.Key)));
      return {};
    },
    async ListTagsForResource(input) {
      return { Tags: await withTags(input.ResourceArn) };
    },
  };
}
