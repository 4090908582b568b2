/**
 * Tags on load balancers, target groups, listeners and rules, kept on each record.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AddTags.html
 */
import type { Elbv2Operations } from '../../api/elbv2/operations.js';
import type { Tag, TagDescription } from '../../api/elbv2/types.js';
import type { MetadataOps } from '../../storage/types.js';
import {
  type Elbv2Deps,
  lbNotFound,
  listenerNotFound,
  mergeTags,
  parentListenerArn,
  parseElbArn,
  ruleNotFound,
  scopeOf,
  tgNotFound,
  validation,
} from './common.js';
import { listenerOf } from './listeners.js';
import { loadBalancerOf } from './load-balancers.js';
import { childKey, nameKey, type Scope, T } from './store.js';
import { targetGroupOf } from './target-groups.js';

type TagOps = Pick<Elbv2Operations, 'AddTags' | 'RemoveTags' | 'DescribeTags'>;

interface Tagged {
  tags: Tag[];
  save(): Promise<void>;
}

/** The record an ARN names, with a way to store its changed tags. */
async function taggable(ops: MetadataOps, arn: string, s: Scope): Promise<Tagged> {
  const p = parseElbArn(arn);
  if (!p) throw validation(`'${arn}' is not a valid resource ARN`);
  switch (p.kind) {
    case 'loadbalancer': {
      const lb = await loadBalancerOf(ops, arn, s).catch(() => Promise.reject(lbNotFound()));
      return { tags: lb.tags, save: () => ops.put(T.loadBalancers, nameKey(s, lb.name), lb) };
    }
    case 'targetgroup': {
      const tg = await targetGroupOf(ops, arn, s).catch(() => Promise.reject(tgNotFound()));
      return { tags: tg.tags, save: () => ops.put(T.targetGroups, nameKey(s, tg.name), tg) };
    }
    case 'listener': {
      const l = await listenerOf(ops, arn, s).catch(() => Promise.reject(listenerNotFound()));
      return {
        tags: l.tags,
        save: () => ops.put(T.listeners, childKey(l.loadBalancerArn, l.id), l),
      };
    }
    case 'listener-rule': {
      // Rules are found through their listener (rules.ts); the default rule has no record.
      const lsArn = parentListenerArn(arn) ?? '';
      const l = await listenerOf(ops, lsArn, s).catch(() => Promise.reject(ruleNotFound()));
      const rule = await ops.get<{ tags: Tag[]; id: string }>(T.rules, childKey(l.arn, p.parts[4]));
      if (!rule) throw ruleNotFound();
      return { tags: rule.tags, save: () => ops.put(T.rules, childKey(l.arn, rule.id), rule) };
    }
  }
}

export function tagOperations(deps: Elbv2Deps): TagOps {
  const { store } = deps;
  return {
    async AddTags(input, ctx) {
      const s = scopeOf(ctx);
      await store.transaction(async (tx) => {
        for (const arn of input.ResourceArns) {
          const r = await taggable(tx, arn, s);
          const merged = mergeTags(r.tags, input.Tags);
          r.tags.splice(0, r.tags.length, ...merged);
          await r.save();
        }
      });
      return {};
    },
    async RemoveTags(input, ctx) {
      const s = scopeOf(ctx);
      const drop = new Set(input.TagKeys);
      await store.transaction(async (tx) => {
        for (const arn of input.ResourceArns) {
          const r = await taggable(tx, arn, s);
          const kept = r.tags.filter((t) => !drop.has(t.Key));
          r.tags.splice(0, r.tags.length, ...kept);
          await r.save();
        }
      });
      return {};
    },
    async DescribeTags(input, ctx) {
      const s = scopeOf(ctx);
      const out: TagDescription[] = [];
      for (const arn of input.ResourceArns) {
        const r = await taggable(store, arn, s);
        out.push({ ResourceArn: arn, Tags: r.tags });
      }
      return { TagDescriptions: out };
    },
  };
}
