/**
 * Lambda Managed Instances: capacity providers (Create/Get/Update/Delete/List,
 * ListFunctionVersionsByCapacityProvider) and the per-version function scaling config
 * (Put/GetFunctionScalingConfig).
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances.html
 *
 * On AWS a capacity provider is a fleet of EC2 instances in the caller's VPC; here the
 * machine Stratus runs on is the one instance, so the VPC, instance and vCPU settings are
 * validated and kept as given. What the provider really changes is how its functions run
 * (see invoke/managed-instances.ts): "When you publish a function version with a capacity
 * provider, Lambda ... starts three execution environments before marking your function
 * version ACTIVE", and the scaling config keeps between min and max of them.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-scaling.html
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  CapacityProvider,
  CapacityProviderScalingConfig,
  CapacityProviderState,
  CapacityProviderVpcConfig,
  FunctionScalingConfig,
  InstanceRequirements,
  LambdaManagedInstancesCapacityProviderConfig,
  State,
} from '../../api/lambda/types.js';
import { buildArn, isAccountId, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { LATEST, qualifiedArn, type Scope } from './arns.js';
import { locate, pageArray, requireFunction, scopeOf, type LambdaDeps } from './common.js';
import { lambdaDate } from './dates.js';
import { conflict, functionNotFound, invalidParameter, notFound } from './errors.js';
import type { Provisioner } from './provisioned.js';
import {
  T,
  childPrefix,
  functionKey,
  qualifierKey,
  scopePrefix,
  versionKey,
  type VersionRecord,
} from './store.js';
import { checkTagCount } from './validation.js';

export interface CapacityProviderRecord {
  name: string;
  vpc: CapacityProviderVpcConfig;
  operatorRoleArn: string;
  instanceRequirements?: InstanceRequirements;
  scaling?: CapacityProviderScalingConfig;
  kmsKeyArn?: string;
  tags: Record<string, string>;
  lastModified: string;
}

/** PutFunctionScalingConfig of one published version. */
export interface ScalingRecord {
  version: string;
  min?: number;
  max?: number;
}

/** A function version's capacity provider settings (VersionRecord.capacityProvider). */
export type FunctionCapacityConfig = LambdaManagedInstancesCapacityProviderConfig;

/**
 * "starts three execution environments before marking your function version ACTIVE":
 * the environments a version keeps when no scaling config names a minimum.
 */
export const DEFAULT_MIN_ENVIRONMENTS = 3;

/** The minimum memory of a function on Managed Instances (2 GB). */
const MIN_MEMORY_MB = 2048;

export const capacityProviderArn = (scope: Scope, name: string): string =>
  buildArn('lambda', scope.region, scope.account, `capacity-provider:${name}`);

const providerKey = (scope: Scope, name: string): string => scopePrefix(scope) + name;

/** A name or an ARN in the caller's account and region; undefined for a foreign ARN. */
function providerNameOf(scope: Scope, nameOrArn: string): string | undefined {
  if (!nameOrArn.startsWith('arn:')) return nameOrArn;
  const arn = parseArn(nameOrArn);
  if (
    arn?.service !== 'lambda' ||
    arn.account !== scope.account ||
    arn.region !== scope.region ||
    !arn.resource.startsWith('capacity-provider:')
  ) {
    return undefined;
  }
  return arn.resource.slice('capacity-provider:'.length);
}

export const isCapacityProviderArn = (arn: string): boolean => {
  const a = parseArn(arn);
  return (
    a?.service === 'lambda' && isAccountId(a.account) && a.resource.startsWith('capacity-provider:')
  );
};

const providerNotFound = (scope: Scope, name: string) =>
  notFound(`Capacity provider not found: ${capacityProviderArn(scope, name)}`);

async function requireProvider(
  ops: MetadataOps,
  scope: Scope,
  nameOrArn: string,
): Promise<CapacityProviderRecord> {
  const name = providerNameOf(scope, nameOrArn);
  const rec =
    name === undefined
      ? undefined
      : await ops.get<CapacityProviderRecord>(T.capacityProviders, providerKey(scope, name));
  if (!rec) throw providerNotFound(scope, name ?? nameOrArn);
  return rec;
}

function view(scope: Scope, rec: CapacityProviderRecord, state: CapacityProviderState) {
  const out: CapacityProvider = {
    CapacityProviderArn: capacityProviderArn(scope, rec.name),
    State: state,
    VpcConfig: rec.vpc,
    PermissionsConfig: { CapacityProviderOperatorRoleArn: rec.operatorRoleArn },
    LastModified: rec.lastModified,
  };
  if (rec.instanceRequirements) out.InstanceRequirements = rec.instanceRequirements;
  if (rec.scaling) out.CapacityProviderScalingConfig = rec.scaling;
  if (rec.kmsKeyArn) out.KmsKeyArn = rec.kmsKeyArn;
  return out;
}

function checkInstanceRequirements(req: InstanceRequirements | undefined): void {
  if (!req) return;
  if (req.AllowedInstanceTypes?.length && req.ExcludedInstanceTypes?.length) {
    throw invalidParameter(
      'AllowedInstanceTypes and ExcludedInstanceTypes cannot be specified together.',
    );
  }
  if (req.Architectures && req.Architectures.length !== 1) {
    throw invalidParameter('InstanceRequirements.Architectures must contain exactly one value.');
  }
}

/** Auto mode scales on Lambda's own target; Manual mode is the caller's policies. */
function checkScaling(s: CapacityProviderScalingConfig | undefined): void {
  if (!s) return;
  const mode = s.ScalingMode ?? 'Auto';
  if (mode === 'Manual' && !s.ScalingPolicies?.length) {
    throw invalidParameter('ScalingPolicies must be provided when ScalingMode is Manual.');
  }
  if (mode === 'Auto' && s.ScalingPolicies?.length) {
    throw invalidParameter('ScalingPolicies cannot be provided when ScalingMode is Auto.');
  }
}

function checkVpc(vpc: CapacityProviderVpcConfig): void {
  if (new Set(vpc.SubnetIds).size !== vpc.SubnetIds.length) {
    throw invalidParameter('SubnetIds must not contain duplicates.');
  }
  if (new Set(vpc.SecurityGroupIds).size !== vpc.SecurityGroupIds.length) {
    throw invalidParameter('SecurityGroupIds must not contain duplicates.');
  }
}

/** Published versions that run on the provider, in function then version order. */
async function versionsOn(
  ops: MetadataOps,
  scope: Scope,
  arn: string,
): Promise<{ name: string; version: VersionRecord }[]> {
  const rows = await ops.list<VersionRecord>(T.versions, { prefix: scopePrefix(scope) });
  const out: { name: string; version: VersionRecord }[] = [];
  for (const { key, value } of rows) {
    if (value.capacityProvider?.CapacityProviderArn !== arn) continue;
    const name = key.slice(scopePrefix(scope).length, key.lastIndexOf(':'));
    out.push({ name, version: value });
  }
  return out;
}

/**
 * CreateFunction / UpdateFunctionConfiguration's CapacityProviderConfig: the provider must
 * exist in the caller's account and region, and the function needs Managed Instances'
 * memory floor.
 */
export async function checkFunctionCapacity(
  ops: MetadataOps,
  scope: Scope,
  config: FunctionCapacityConfig,
  memorySize: number,
): Promise<void> {
  await requireProvider(ops, scope, config.CapacityProviderArn);
  if (memorySize < MIN_MEMORY_MB) {
    throw invalidParameter(
      `MemorySize must be at least ${MIN_MEMORY_MB} MB for functions using a capacity provider.`,
    );
  }
}

/** The environments a published version on a capacity provider keeps (min, max). */
export async function scalingOf(
  ops: MetadataOps,
  fnKey: string,
  version: string,
): Promise<{ min: number; max?: number }> {
  const rec = await ops.get<ScalingRecord>(T.scaling, qualifierKey(fnKey, version));
  return { min: rec?.min ?? DEFAULT_MIN_ENVIRONMENTS, max: rec?.max };
}

type CapacityOps = Pick<
  LambdaOperations,
  | 'CreateCapacityProvider'
  | 'GetCapacityProvider'
  | 'UpdateCapacityProvider'
  | 'DeleteCapacityProvider'
  | 'ListCapacityProviders'
  | 'ListFunctionVersionsByCapacityProvider'
  | 'PutFunctionScalingConfig'
  | 'GetFunctionScalingConfig'
>;

/**
 * @param scaled told when a version's scaling config changed, so the environments it keeps
 *   follow (the invoke path's Managed Instances keeper).
 */
export function capacityProviderOperations(
  deps: LambdaDeps,
  scaled: () => (scope: Scope, functionName: string) => void,
  provisioner: () => Provisioner,
): CapacityOps {
  const { store } = deps;

  /** A version is ACTIVE on its provider once its minimum of environments is up. */
  async function stateOn(scope: Scope, name: string, v: VersionRecord): Promise<State> {
    if (v.state !== 'Active') return v.state;
    const { min } = await scalingOf(store, functionKey(scope, name), v.version);
    if (min === 0) return v.state;
    return provisioner().state(scope, name, v.version, min).status === 'READY'
      ? 'Active'
      : 'Pending';
  }

  async function operatorRole(ctx: RequestContext, arn: string): Promise<void> {
    if (!(await deps.iam.findRole(ctx.account, arn))) {
      throw invalidParameter(`The operator role ${arn} does not exist or cannot be assumed.`);
    }
  }

  /** The published version a scaling config names ($LATEST.PUBLISHED: the newest). */
  async function scaledVersion(
    ops: MetadataOps,
    fnKey: string,
    scope: Scope,
    name: string,
    qualifier: string,
  ): Promise<VersionRecord> {
    let v: VersionRecord | undefined;
    if (qualifier === '$LATEST.PUBLISHED') {
      const rows = await ops.list<VersionRecord>(T.versions, {
        prefix: childPrefix(fnKey),
        reverse: true,
        limit: 1,
      });
      v = rows[0]?.value.version === LATEST ? undefined : rows[0]?.value;
    } else {
      v = await ops.get<VersionRecord>(T.versions, versionKey(fnKey, qualifier));
    }
    if (!v) throw functionNotFound(qualifiedArn(scope, name, qualifier));
    if (!v.capacityProvider) {
      throw invalidParameter(
        'Function scaling configuration is only supported for functions using a capacity provider.',
      );
    }
    return v;
  }

  return {
    async CreateCapacityProvider(input, ctx) {
      const scope = scopeOf(ctx);
      checkVpc(input.VpcConfig);
      checkInstanceRequirements(input.InstanceRequirements);
      checkScaling(input.CapacityProviderScalingConfig);
      const tags = input.Tags ?? {};
      checkTagCount(tags);
      await operatorRole(ctx, input.PermissionsConfig.CapacityProviderOperatorRoleArn);
      const name = providerNameOf(scope, input.CapacityProviderName);
      if (name === undefined) throw invalidParameter('Invalid capacity provider ARN.');
      const rec: CapacityProviderRecord = {
        name,
        vpc: input.VpcConfig,
        operatorRoleArn: input.PermissionsConfig.CapacityProviderOperatorRoleArn,
        tags,
        lastModified: lambdaDate(deps.now()),
      };
      if (input.InstanceRequirements) rec.instanceRequirements = input.InstanceRequirements;
      if (input.CapacityProviderScalingConfig) rec.scaling = input.CapacityProviderScalingConfig;
      if (input.KmsKeyArn) rec.kmsKeyArn = input.KmsKeyArn;
      if (!(await store.insert(T.capacityProviders, providerKey(scope, name), rec))) {
        throw conflict(`Capacity provider already exists: ${capacityProviderArn(scope, name)}`);
      }
      // The one instance (this machine) is there already: the provider is Active once
      // stored; the answer shows the Pending AWS reports while it launches instances.
      return { CapacityProvider: view(scope, rec, 'Pending') };
    },

    async GetCapacityProvider(input, ctx) {
      const scope = scopeOf(ctx);
      const rec = await requireProvider(store, scope, input.CapacityProviderName);
      return { CapacityProvider: view(scope, rec, 'Active') };
    },

    async UpdateCapacityProvider(input, ctx) {
      const scope = scopeOf(ctx);
      checkScaling(input.CapacityProviderScalingConfig);
      const rec = await store.transaction(async (tx) => {
        const rec = await requireProvider(tx, scope, input.CapacityProviderName);
        if (input.CapacityProviderScalingConfig) rec.scaling = input.CapacityProviderScalingConfig;
        rec.lastModified = lambdaDate(deps.now());
        await tx.put(T.capacityProviders, providerKey(scope, rec.name), rec);
        return rec;
      });
      return { CapacityProvider: view(scope, rec, 'Active') };
    },

    async DeleteCapacityProvider(input, ctx) {
      const scope = scopeOf(ctx);
      const rec = await store.transaction(async (tx) => {
        const rec = await requireProvider(tx, scope, input.CapacityProviderName);
        const arn = capacityProviderArn(scope, rec.name);
        const users = await versionsOn(tx, scope, arn);
        if (users.length) {
          throw conflict(
            `Capacity provider ${arn} is in use by function versions: ${users
              .map((u) => qualifiedArn(scope, u.name, u.version.version))
              .join(', ')}`,
          );
        }
        await tx.delete(T.capacityProviders, providerKey(scope, rec.name));
        return rec;
      });
      return { CapacityProvider: view(scope, rec, 'Deleting') };
    },

    async ListCapacityProviders(input, ctx) {
      const scope = scopeOf(ctx);
      // Every stored provider is Active (see CreateCapacityProvider).
      const rows =
        input.State === undefined || input.State === 'Active'
          ? await store.list<CapacityProviderRecord>(T.capacityProviders, {
              prefix: scopePrefix(scope),
            })
          : [];
      const page = pageArray(
        rows.map((r) => view(scope, r.value, 'Active')),
        (p) => p.CapacityProviderArn,
        input.Marker,
        input.MaxItems,
      );
      return page.nextMarker === undefined
        ? { CapacityProviders: page.items }
        : { CapacityProviders: page.items, NextMarker: page.nextMarker };
    },

    async ListFunctionVersionsByCapacityProvider(input, ctx) {
      const scope = scopeOf(ctx);
      const rec = await requireProvider(store, scope, input.CapacityProviderName);
      const arn = capacityProviderArn(scope, rec.name);
      const versions = (await versionsOn(store, scope, arn)).filter(
        (v) => v.version.version !== LATEST,
      );
      const items = [];
      for (const v of versions) {
        items.push({
          FunctionArn: qualifiedArn(scope, v.name, v.version.version),
          State: await stateOn(scope, v.name, v.version),
        });
      }
      const page = pageArray(items, (i) => i.FunctionArn, input.Marker, input.MaxItems);
      return page.nextMarker === undefined
        ? { CapacityProviderArn: arn, FunctionVersions: page.items }
        : { CapacityProviderArn: arn, FunctionVersions: page.items, NextMarker: page.nextMarker };
    },

    async PutFunctionScalingConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'PutFunctionScalingConfig',
        allowQualifier: false,
      });
      const cfg: FunctionScalingConfig = input.FunctionScalingConfig ?? {};
      const { MinExecutionEnvironments: min, MaxExecutionEnvironments: max } = cfg;
      if (min !== undefined && max !== undefined && min > max) {
        throw invalidParameter(
          'MinExecutionEnvironments must be less than or equal to MaxExecutionEnvironments.',
        );
      }
      const state = await store.transaction(async (tx) => {
        await requireFunction(tx, at, input.Qualifier);
        const v = await scaledVersion(tx, at.key, at.scope, at.name, input.Qualifier);
        const rec: ScalingRecord = { version: v.version };
        if (min !== undefined) rec.min = min;
        if (max !== undefined) rec.max = max;
        await tx.put(T.scaling, qualifierKey(at.key, v.version), rec);
        return v.state;
      });
      scaled()(at.scope, at.name);
      return { FunctionState: state };
    },

    async GetFunctionScalingConfig(input, ctx) {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'GetFunctionScalingConfig',
        allowQualifier: false,
      });
      await requireFunction(store, at, input.Qualifier);
      const v = await scaledVersion(store, at.key, at.scope, at.name, input.Qualifier);
      const rec = await store.get<ScalingRecord>(T.scaling, qualifierKey(at.key, v.version));
      const requested: FunctionScalingConfig = {};
      if (rec?.min !== undefined) requested.MinExecutionEnvironments = rec.min;
      if (rec?.max !== undefined) requested.MaxExecutionEnvironments = rec.max;
      const applied: FunctionScalingConfig = {
        MinExecutionEnvironments: rec?.min ?? DEFAULT_MIN_ENVIRONMENTS,
      };
      if (rec?.max !== undefined) applied.MaxExecutionEnvironments = rec.max;
      return {
        FunctionArn: qualifiedArn(at.scope, at.name, v.version),
        AppliedFunctionScalingConfig: applied,
        RequestedFunctionScalingConfig: requested,
      };
    },
  };
}

/** TagResource / UntagResource / ListTags on a capacity provider ARN. */
export async function editCapacityProviderTags(
  ops: MetadataOps,
  caller: { account: string; region: string },
  arn: string,
  edit?: (tags: Record<string, string>) => void,
): Promise<Record<string, string>> {
  const scope = scopeOf(caller);
  const rec = await requireProvider(ops, scope, arn);
  if (edit) {
    edit(rec.tags);
    checkTagCount(rec.tags);
    await ops.put(T.capacityProviders, providerKey(scope, rec.name), rec);
  }
  return rec.tags;
}
