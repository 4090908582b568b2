/** What the Scheduler operation modules share: deps, ARNs, lookups and AWS's messages. */
import { ResourceNotFoundException, ValidationException } from '../../api/scheduler/errors.js';
import type { SchedulingClock } from '../../events/clock.js';
import { buildArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataStore } from '../../storage/types.js';
import {
  GROUPS_TABLE,
  groupKey,
  type GroupRecord,
  type ScheduleRecord,
  type Scope,
} from './store.js';

export interface SchedulerDeps {
  store: MetadataStore;
  clock: SchedulingClock;
  /** Told about every schedule change (undefined: deleted), to (re)arm its firing. */
  schedulesChanged(schedule: ScheduleRecord | undefined, arn: string): void;
}

export const DEFAULT_GROUP = 'default';

export const scopeOf = (ctx: Pick<RequestContext, 'account' | 'region'>): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

export const groupArn = (s: Scope, name: string): string =>
  buildArn('scheduler', s.region, s.account, `schedule-group/${name}`);

export const scheduleArn = (s: Scope, group: string, name: string): string =>
  buildArn('scheduler', s.region, s.account, `schedule/${group}/${name}`);

export const groupNotFound = (name: string): ResourceNotFoundException =>
  new ResourceNotFoundException(`Schedule group ${name} does not exist.`);

export const scheduleNotFound = (name: string): ResourceNotFoundException =>
  new ResourceNotFoundException(`Schedule ${name} does not exist.`);

export const invalidToken = (): ValidationException =>
  new ValidationException('The provided NextToken is not valid.');

/** The group, `default` existing in every account and region. */
export async function findGroup(
  store: MetadataStore,
  scope: Scope,
  name: string,
): Promise<GroupRecord | undefined> {
  const found = await store.get<GroupRecord>(GROUPS_TABLE, groupKey(scope, name));
  if (found || name !== DEFAULT_GROUP) return found;
  return { name, arn: groupArn(scope, name), tags: [], createdAt: 0, modifiedAt: 0 };
}

export async function requireGroup(
  store: MetadataStore,
  scope: Scope,
  name: string,
): Promise<GroupRecord> {
  const group = await findGroup(store, scope, name);
  if (!group) throw groupNotFound(name);
  return group;
}
