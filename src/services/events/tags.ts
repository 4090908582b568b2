/** Tags on rules and event buses, by ARN. */
import type { EventsOperations } from '../../api/events/operations.js';
import { ResourceNotFoundException } from '../../api/events/errors.js';
import type { Tag } from '../../api/events/types.js';
import { parseArn } from '../../shared/arn.js';
import { findBus, ruleByArn, type EventsDeps } from './common.js';
import { BUSES_TABLE, busKey, RULES_TABLE, ruleKey } from './store.js';

type TagOps = Pick<EventsOperations, 'TagResource' | 'UntagResource' | 'ListTagsForResource'>;

export function tagOperations(deps: EventsDeps): TagOps {
  /** Reads the tags of `arn` and, when `change` is given, writes them back changed. */
  const withTags = async (arn: string, change?: (tags: Tag[]) => Tag[]): Promise<Tag[]> => {
    const parsed = parseArn(arn);
    const notFound = () => new ResourceNotFoundException(`Resource ${arn} does not exist.`);
    if (!parsed || parsed.service !== 'events') throw notFound();
    if (parsed.resource.startsWith('rule/')) {
      const rule = await ruleByArn(deps, arn);
      if (!rule) throw notFound();
      if (change) {
        rule.tags = change(rule.tags);
        await deps.store.put(RULES_TABLE, ruleKey(rule, rule.eventBusName, rule.name), rule);
      }
      return rule.tags;
    }
    if (parsed.resource.startsWith('event-bus/')) {
      const bus = await findBus(deps, parsed, parsed.resource.slice('event-bus/'.length));
      if (!bus) throw notFound();
      if (change) {
        bus.tags = change(bus.tags);
        bus.createdAt ||= deps.now();
        bus.modifiedAt = deps.now();
        await deps.store.put(BUSES_TABLE, busKey(parsed, bus.name), bus);
      }
      return bus.tags;
    }
    throw notFound();
  };
  return {
    async TagResource(input) {
      await withTags(input.ResourceARN, (tags) => {
        const byKey = new Map(tags.map((t) => [t.Key, t]));
        for (const t of input.Tags) byKey.set(t.Key, t);
        return [...byKey.values()];
      });
      return {};
    },
    async UntagResource(input) {
      const drop = new Set(input.TagKeys);
      await withTags(input.ResourceARN, (tags) => tags.filter((t) => !drop.has(t.Key)));
      return {};
    },
    async ListTagsForResource(input) {
      return { Tags: await withTags(input.ResourceARN) };
    },
  };
}
