/**
 * What Lightsail's operation modules share: their dependencies, ARNs and locations, the
 * Operation objects every mutating call returns, tags, and AWS's errors.
 */
import { randomUUID } from 'node:crypto';
import { InvalidInputException, NotFoundException } from '../../api/lightsail/errors.js';
import type {
  Operation,
  OperationType,
  ResourceLocation,
  ResourceType,
  Tag as ApiTag,
} from '../../api/lightsail/types.js';
import { buildArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataStore } from '../../storage/types.js';
import type { InstanceFleet } from './fleet.js';
import type { Monitor } from './monitor.js';
import type { Scope, Tag } from './store.js';

export interface LightsailDeps {
  store: MetadataStore;
  fleet: InstanceFleet;
  monitor: Monitor;
  now(): number;
}

export const scopeOf = (ctx: Pick<RequestContext, 'account' | 'region'>): Scope => ({
  account: ctx.account,
  region: ctx.region,
});

/** Lightsail ARNs end in a random id, not the name (`arn:aws:lightsail:…:Instance/<uuid>`). */
export const arnOf = (scope: Scope, type: ResourceType, id: string): string =>
  buildArn('lightsail', scope.region, scope.account, `${type}/${id}`);

export const locationOf = (scope: Scope, availabilityZone?: string): ResourceLocation => ({
  availabilityZone: availabilityZone ?? 'all',
  regionName: scope.region as ResourceLocation['regionName'],
});

/** "The support code… include it in your email to support": account/resource-based, opaque. */
export const supportCodeOf = (scope: Scope, id: string): string => `${scope.account}/${id}`;

/** Key pair calls return these operation types, which the model's enum does not list. */
type KeyPairOperationType = 'CreateKeyPair' | 'ImportKeyPair' | 'DeleteKeyPair';

export function operation(
  scope: Scope,
  now: number,
  resourceName: string,
  resourceType: ResourceType,
  operationType: OperationType | KeyPairOperationType,
  availabilityZone?: string,
  operationDetails = '',
): Operation {
  const at = new Date(now);
  return {
    id: randomUUID(),
    resourceName,
    resourceType,
    createdAt: at,
    location: locationOf(scope, availabilityZone),
    isTerminal: true,
    operationDetails,
    operationType: operationType as OperationType,
    status: 'Succeeded',
    statusChangedAt: at,
  };
}

export const tagsIn = (tags: ApiTag[] | undefined): Tag[] =>
  (tags ?? []).map((t) => ({
    key: t.key ?? '',
    ...(t.value !== undefined ? { value: t.value } : {}),
  }));

export const tagsOut = (tags: Tag[]): ApiTag[] => tags.map((t) => ({ ...t }));

/** "The <Type> does not exist: <name>" is the shape of Lightsail's NotFoundException. */
export const notFound = (what: string, name: string): NotFoundException =>
  new NotFoundException(`The ${what} does not exist: ${name}`, { code: 'NotFound' });

export const invalid = (message: string): InvalidInputException =>
  new InvalidInputException(message, { code: 'InvalidInput' });

/** Names: letters, digits, hyphens, underscores and periods, starting with a letter or digit. */
const NAME = /^\w[\w\-.]*\w$|^\w$/;

export function checkName(what: string, name: string): void {
  if (!NAME.test(name) || name.length > 255)
    throw invalid(
      `${what} name must start and end with an alphanumeric character and contain only alphanumeric characters, underscores, hyphens and periods: ${name}`,
    );
}
