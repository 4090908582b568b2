/**
 * Everything the data plane needs, read from the store in one pass after each change:
 * load balancers, listeners with their rules in priority order, target groups, their
 * targets, and which load balancers use each group. Requests route over this immutable
 * snapshot without touching the store.
 */
import type { MetadataOps } from '../../storage/types.js';
import { parentListenerArn } from './common.js';
import {
  type ListenerRecord,
  type LoadBalancerRecord,
  type RuleRecord,
  T,
  type TargetGroupRecord,
  type TargetRecord,
} from './store.js';
import { forwardedGroups } from './usage.js';

export interface ListenerView {
  listener: ListenerRecord;
  loadBalancer: LoadBalancerRecord;
  /** Non-default rules, lowest priority number first. */
  rules: RuleRecord[];
}

export interface Snapshot {
  loadBalancers: ReadonlyMap<string, LoadBalancerRecord>;
  /** By DNS label (`<name>-<digits>`, the first label of DNSName). */
  byDnsLabel: ReadonlyMap<string, LoadBalancerRecord>;
  listeners: ReadonlyMap<string, ListenerView>;
  /** Load balancer ARN → its listeners, lowest port first. */
  listenersOf: ReadonlyMap<string, ListenerView[]>;
  targetGroups: ReadonlyMap<string, TargetGroupRecord>;
  targets: ReadonlyMap<string, TargetRecord[]>;
  /** Target group ARN → the load balancers that forward to it. */
  usage: ReadonlyMap<string, ReadonlySet<string>>;
}

export const EMPTY_SNAPSHOT: Snapshot = {
  loadBalancers: new Map(),
  byDnsLabel: new Map(),
  listeners: new Map(),
  listenersOf: new Map(),
  targetGroups: new Map(),
  targets: new Map(),
  usage: new Map(),
};

export async function readSnapshot(ops: MetadataOps): Promise<Snapshot> {
  const loadBalancers = new Map<string, LoadBalancerRecord>();
  const byDnsLabel = new Map<string, LoadBalancerRecord>();
  for (const { value } of await ops.list<LoadBalancerRecord>(T.loadBalancers)) {
    loadBalancers.set(value.arn, value);
    byDnsLabel.set(value.dnsLabel.toLowerCase(), value);
  }
  const listeners = new Map<string, ListenerView>();
  const listenersOf = new Map<string, ListenerView[]>();
  const usage = new Map<string, Set<string>>();
  const use = (actions: Parameters<typeof forwardedGroups>[0], lb: string) => {
    for (const tg of forwardedGroups(actions)) {
      let set = usage.get(tg);
      if (!set) usage.set(tg, (set = new Set()));
      set.add(lb);
    }
  };
  for (const { value } of await ops.list<ListenerRecord>(T.listeners)) {
    const lb = loadBalancers.get(value.loadBalancerArn);
    if (!lb) continue;
    const view: ListenerView = { listener: value, loadBalancer: lb, rules: [] };
    listeners.set(value.arn, view);
    const list = listenersOf.get(lb.arn) ?? [];
    list.push(view);
    listenersOf.set(lb.arn, list);
    use(value.defaultActions, lb.arn);
  }
  for (const list of listenersOf.values()) list.sort((a, b) => a.listener.port - b.listener.port);
  for (const { value } of await ops.list<RuleRecord>(T.rules)) {
    const view = listeners.get(parentListenerArn(value.arn) ?? '');
    if (!view) continue;
    view.rules.push(value);
    use(value.actions, view.loadBalancer.arn);
  }
  for (const view of listeners.values()) view.rules.sort((a, b) => a.priority - b.priority);
  const targetGroups = new Map<string, TargetGroupRecord>();
  for (const { value } of await ops.list<TargetGroupRecord>(T.targetGroups)) {
    targetGroups.set(value.arn, value);
  }
  const targets = new Map<string, TargetRecord[]>();
  for (const { value } of await ops.list<TargetRecord>(T.targets)) {
    const list = targets.get(value.targetGroupArn) ?? [];
    list.push(value);
    targets.set(value.targetGroupArn, list);
  }
  return { loadBalancers, byDnsLabel, listeners, listenersOf, targetGroups, targets, usage };
}
