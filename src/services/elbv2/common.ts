/**
 * What the ELBv2 operation modules share: deps, ARNs and ids in AWS's formats, AWS's
 * error messages, tags and paging.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/Welcome.html
 */
import { randomBytes } from 'node:crypto';
import {
  DuplicateTagKeysException,
  ListenerNotFoundException,
  LoadBalancerNotFoundException,
  RuleNotFoundException,
  TargetGroupNotFoundException,
  TooManyTagsException,
} from '../../api/elbv2/errors.js';
import type { Tag } from '../../api/elbv2/types.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { AwsError } from '../../shared/errors.js';
import type { MetadataStore } from '../../storage/types.js';
import type { LbType, Scope } from './store.js';

/** What the ELBv2 operation modules share. */
export interface Elbv2Deps {
  store: MetadataStore;
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Called after every committed change: the data plane (listener sockets, routing,
   * health checks) catches up before the operation answers.
   */
  changed(): Promise<void>;
}

export const SERVICE = 'elasticloadbalancing';

export const scopeOf = (ctx: RequestContext): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

/** 16 lower-case hex digits, as AWS's load balancer, target group, listener and rule ids. */
export const resourceId = (): string => randomBytes(8).toString('hex');

const TYPE_PREFIX: Record<LbType, string> = { application: 'app', network: 'net' };

export const loadBalancerArn = (s: Scope, type: LbType, name: string, id: string): string =>
  buildArn(SERVICE, s.region, s.account, `loadbalancer/${TYPE_PREFIX[type]}/${name}/${id}`);
export const targetGroupArn = (s: Scope, name: string, id: string): string =>
  buildArn(SERVICE, s.region, s.account, `targetgroup/${name}/${id}`);
/** `…:listener/app/<lb name>/<lb id>/<listener id>` */
export const listenerArn = (lbArn: string, id: string): string =>
  `${lbArn.replace(':loadbalancer/', ':listener/')}/${id}`;
/** `…:listener-rule/app/<lb name>/<lb id>/<listener id>/<rule id>` */
export const ruleArn = (lsArn: string, id: string): string =>
  `${lsArn.replace(':listener/', ':listener-rule/')}/${id}`;

export type ElbResourceKind = 'loadbalancer' | 'targetgroup' | 'listener' | 'listener-rule';

export interface ParsedElbArn {
  kind: ElbResourceKind;
  scope: Scope;
  /** The path after the kind: `app/<name>/<id>`, `<name>/<id>`, … */
  parts: string[];
}

const PARTS: Record<ElbResourceKind, number> = {
  loadbalancer: 3,
  targetgroup: 2,
  listener: 4,
  'listener-rule': 5,
};

/** An ELBv2 ARN of one of the four resource kinds; undefined for anything else. */
export function parseElbArn(arn: string): ParsedElbArn | undefined {
  const a = parseArn(arn);
  if (!a || a.service !== SERVICE) return undefined;
  const slash = a.resource.indexOf('/');
  if (slash < 0) return undefined;
  const kind = a.resource.slice(0, slash) as ElbResourceKind;
  const parts = a.resource.slice(slash + 1).split('/');
  if (PARTS[kind] !== parts.length || parts.some((p) => p === '')) return undefined;
  return { kind, scope: { account: a.account, region: a.region }, parts };
}

/** The load balancer ARN a listener or rule ARN lives under. */
export function parentLoadBalancerArn(arn: string): string | undefined {
  const p = parseElbArn(arn);
  if (!p || (p.kind !== 'listener' && p.kind !== 'listener-rule')) return undefined;
  return buildArn(
    SERVICE,
    p.scope.region,
    p.scope.account,
    `loadbalancer/${p.parts.slice(0, 3).join('/')}`,
  );
}

/** The listener ARN a rule ARN lives under. */
export function parentListenerArn(arn: string): string | undefined {
  const p = parseElbArn(arn);
  if (!p || p.kind !== 'listener-rule') return undefined;
  return buildArn(
    SERVICE,
    p.scope.region,
    p.scope.account,
    `listener/${p.parts.slice(0, 4).join('/')}`,
  );
}

// AWS's messages, as its API answers them.
export const lbNotFound = (): LoadBalancerNotFoundException =>
  new LoadBalancerNotFoundException('One or more load balancers not found');
export const tgNotFound = (): TargetGroupNotFoundException =>
  new TargetGroupNotFoundException('One or more target groups not found');
export const listenerNotFound = (): ListenerNotFoundException =>
  new ListenerNotFoundException('One or more listeners not found');
export const ruleNotFound = (): RuleNotFoundException =>
  new RuleNotFoundException('One or more rules not found');

/** The query protocol's `ValidationError` (400), which ELB answers for malformed input. */
export const validation = (message: string): AwsError =>
  new AwsError('ValidationError', 400, true, message);

/** An ARN of this caller's account and region; others are resources it cannot see. */
export function ownedBy(arn: string, s: Scope): boolean {
  const p = parseElbArn(arn);
  return p !== undefined && p.scope.account === s.account && p.scope.region === s.region;
}

const MAX_TAGS = 50;

/** `existing` with `add` applied (a key already there takes the new value). */
export function mergeTags(existing: readonly Tag[], add: readonly Tag[]): Tag[] {
  const seen = new Set<string>();
  for (const t of add) {
    if (seen.has(t.Key)) throw new DuplicateTagKeysException(`Tag key '${t.Key}' is duplicated`);
    seen.add(t.Key);
  }
  const out = existing.filter((t) => !seen.has(t.Key));
  for (const t of add)
    out.push(t.Value === undefined ? { Key: t.Key } : { Key: t.Key, Value: t.Value });
  if (out.length > MAX_TAGS) {
    throw new TooManyTagsException(
      'The quota for the number of tags that can be assigned to a load balancer has been reached',
    );
  }
  return out;
}

/** Page size: ELB's PageSize is 1–400 (the model checks), default 400. */
export const pageSize = (n: number | undefined): number => n ?? 400;

/** "The marker is not valid" for a marker we did not hand out. */
export const badMarker = (): AwsError => validation('Invalid marker');

/** `[{Key, Value}]` from an attribute record, in key order. */
export const attributeList = (attrs: Record<string, string>): { Key: string; Value: string }[] =>
  Object.keys(attrs)
    .sort()
    .map((Key) => ({ Key, Value: attrs[Key] }));
