/**
 * What the EventBridge operation modules share: deps, ARNs, AWS's exact messages, and the
 * lookups by name or ARN every operation starts with.
 */
import { ResourceNotFoundException } from '../../api/events/errors.js';
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { AwsError } from '../../shared/errors.js';
import type { Meter } from '../../billing/meter.js';
import type { EventBus } from '../../events/bus.js';
import type { SchedulingClock } from '../../events/clock.js';
import type { MetadataStore } from '../../storage/types.js';
import {
  BUSES_TABLE,
  busKey,
  RULES_TABLE,
  ruleKey,
  type BusRecord,
  type RuleRecord,
  type Scope,
} from './store.js';

export interface EventsDeps {
  store: MetadataStore;
  bus: EventBus;
  clock: SchedulingClock;
  /** Told about every rule change: the router's cache and the scheduled rules. */
  rulesChanged(rule: RuleRecord | undefined, arn: string): void;
  now(): number;
  /** The bill (custom events published). */
  meter?: Meter;
}

export const DEFAULT_BUS = 'default';

export const scopeOf = (ctx: Pick<RequestContext, 'account' | 'region'>): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

export const busArn = (s: Scope, name: string): string =>
  buildArn('events', s.region, s.account, `event-bus/${name}`);

/** Rules of the default bus are `rule/<name>`, of other buses `rule/<bus>/<name>`. */
export const ruleArn = (s: Scope, bus: string, name: string): string =>
  buildArn(
    'events',
    s.region,
    s.account,
    bus === DEFAULT_BUS ? `rule/${name}` : `rule/${bus}/${name}`,
  );

/** EventBridge answers ValidationException for checks its model does not name. */
export const validation = (message: string): AwsError =>
  new AwsError('ValidationException', 400, true, message);

export const busNotFound = (name: string): ResourceNotFoundException =>
  new ResourceNotFoundException(`Event bus ${name} does not exist.`);

export const ruleNotFound = (name: string, bus: string): ResourceNotFoundException =>
  new ResourceNotFoundException(`Rule ${name} does not exist on EventBus ${bus}.`);

/** A bus named by name or ARN (of this account and region). */
export function busName(nameOrArn: string | undefined): string {
  if (nameOrArn === undefined) return DEFAULT_BUS;
  const arn = parseArn(nameOrArn);
  if (arn) return arn.resource.replace(/^event-bus\//, '');
  return nameOrArn;
}

/** The bus record, the default bus existing in every account and region. */
export async function findBus(
  deps: Pick<EventsDeps, 'store'>,
  scope: Scope,
  name: string,
): Promise<BusRecord | undefined> {
  const found = await deps.store.get<BusRecord>(BUSES_TABLE, busKey(scope, name));
  if (found || name !== DEFAULT_BUS) return found;
  return { name, arn: busArn(scope, name), tags: [], createdAt: 0, modifiedAt: 0 };
}

export async function requireBus(
  deps: Pick<EventsDeps, 'store'>,
  scope: Scope,
  nameOrArn: string | undefined,
): Promise<BusRecord> {
  const name = busName(nameOrArn);
  const bus = await findBus(deps, scope, name);
  if (!bus) throw busNotFound(name);
  return bus;
}

export async function requireRule(
  deps: Pick<EventsDeps, 'store'>,
  scope: Scope,
  name: string,
  busNameOrArn: string | undefined,
): Promise<RuleRecord> {
  const bus = await requireBus(deps, scope, busNameOrArn);
  const rule = await deps.store.get<RuleRecord>(RULES_TABLE, ruleKey(scope, bus.name, name));
  if (!rule) throw ruleNotFound(name, bus.name);
  return rule;
}

/** A rule by ARN (the router's scheduled firings, tags). */
export async function ruleByArn(
  deps: Pick<EventsDeps, 'store'>,
  arn: string,
): Promise<RuleRecord | undefined> {
  const parsed = parseArn(arn);
  if (!parsed || parsed.service !== 'events' || !parsed.resource.startsWith('rule/'))
    return undefined;
  const parts = parsed.resource.slice('rule/'.length).split('/');
  const [bus, name] = parts.length === 2 ? parts : [DEFAULT_BUS, parts[0]];
  return deps.store.get<RuleRecord>(RULES_TABLE, ruleKey(parsed, bus, name));
}

export const invalidToken = (): AwsError => validation('The NextToken is invalid.');
