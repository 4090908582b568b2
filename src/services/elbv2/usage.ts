/**
 * Which load balancers send traffic to which target groups: through a listener's default
 * actions or a rule's forward actions. A target group none uses is "not in use" (its
 * targets are `unused`, and ECS refuses it for a service).
 */
import type { Action } from '../../api/elbv2/types.js';
import { buildArn } from '../../shared/arn.js';
import type { MetadataOps } from '../../storage/types.js';
import { parentLoadBalancerArn, SERVICE } from './common.js';
import { type ListenerRecord, type RuleRecord, type Scope, T } from './store.js';

/** Every target group ARN a list of actions forwards to. */
export function forwardedGroups(actions: readonly Action[]): string[] {
  const out = new Set<string>();
  for (const a of actions) {
    if (a.Type !== 'forward') continue;
    if (a.TargetGroupArn !== undefined) out.add(a.TargetGroupArn);
    for (const t of a.ForwardConfig?.TargetGroups ?? []) {
      if (t.TargetGroupArn !== undefined) out.add(t.TargetGroupArn);
    }
  }
  return [...out];
}

/** The ARN prefix every listener (and rule) key of a scope starts with. */
export const listenerScopePrefix = (s: Scope): string =>
  buildArn(SERVICE, s.region, s.account, 'loadbalancer/');

/** Target group ARN → the load balancers that forward to it, for one account and region. */
export async function groupUsage(ops: MetadataOps, s: Scope): Promise<Map<string, Set<string>>> {
  const usage = new Map<string, Set<string>>();
  const add = (tg: string, lb: string) => {
    let set = usage.get(tg);
    if (!set) usage.set(tg, (set = new Set()));
    set.add(lb);
  };
  const listeners = await ops.list<ListenerRecord>(T.listeners, { prefix: listenerScopePrefix(s) });
  for (const { value: l } of listeners) {
    for (const tg of forwardedGroups(l.defaultActions)) add(tg, l.loadBalancerArn);
  }
  const rules = await ops.list<RuleRecord>(T.rules, {
    prefix: listenerScopePrefix(s).replace(':loadbalancer/', ':listener/'),
  });
  for (const { value: r } of rules) {
    const lb = parentLoadBalancerArn(r.arn);
    if (lb === undefined) continue;
    for (const tg of forwardedGroups(r.actions)) add(tg, lb);
  }
  return usage;
}
