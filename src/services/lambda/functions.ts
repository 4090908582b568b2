/**
 * Functions: CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
 * UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction.
 * https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html
 *
 * Each mutation checks what it can up front (parameters, the IAM role, the package, which
 * is extracted before the answer), then writes in one transaction; the state flips that
 * follow (Pending → Active, InProgress → Successful) are the Lifecycle's.
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import type {
  CreateFunctionRequest,
  DeleteFunctionRequest,
  DeleteFunctionResponse,
  FunctionConfiguration,
  GetFunctionConfigurationRequest,
  GetFunctionRequest,
  GetFunctionResponse,
  ListFunctionsRequest,
  ListFunctionsResponse,
  LoggingConfig,
  UpdateFunctionCodeRequest,
  UpdateFunctionConfigurationRequest,
  VpcConfig,
} from '../../api/lambda/types.js';
import type { RequestContext } from '../../shared/context.js';
import type { MetadataOps } from '../../storage/types.js';
import { LATEST, functionArn, isAliasName, qualifiedArn } from './arns.js';
import { checkFunctionCapacity } from './capacity-providers.js';
import { attachCodeSigning } from './code-signing.js';
import type { Lease } from './code-store.js';
import {
  asBuffer,
  codeStillUsed,
  locate,
  newRevisionId,
  pageStore,
  requireFunction,
  requireLatest,
  resolveTarget,
  scopeOf,
  shownArn,
  type LambdaDeps,
  type Located,
} from './common.js';
import { FULL, LISTED, configurationOf } from './config-view.js';
import { lambdaDate } from './dates.js';
import { conflict, functionNotFound, invalidParameter, revisionMismatch } from './errors.js';
import { checkCombinedSize, checkLayerCount, resolveLayers } from './layers.js';
import {
  IMAGE_ONLY_FIELDS,
  checkImageCreate,
  imageUriForUpdate,
  resolveFunctionImage,
} from './image-code.js';
import { checkExecutionRole } from './roles.js';
import {
  T,
  childPrefix,
  qualifierKey,
  releaseCode,
  releaseVersionCode,
  retainCode,
  retainVersionCode,
  scopePrefix,
  versionKey,
  type AliasRecord,
  type FunctionRecord,
  type UrlConfigRecord,
  type VersionRecord,
} from './store.js';
import {
  checkEnvironment,
  checkFunctionName,
  checkMemory,
  checkRuntime,
  checkSnapStart,
  checkTagCount,
  checkTimeout,
  unsupported,
} from './validation.js';
import { CREATING, publishInTx } from './versions.js';

type FunctionOps = Pick<
  LambdaOperations,
  | 'CreateFunction'
  | 'GetFunction'
  | 'GetFunctionConfiguration'
  | 'ListFunctions'
  | 'UpdateFunctionCode'
  | 'UpdateFunctionConfiguration'
  | 'DeleteFunction'
>;

const DEFAULT_TIMEOUT = 3;
const DEFAULT_MEMORY = 128;
const DEFAULT_EPHEMERAL = 512;
/** ImageConfig given to a Zip function (an image's settings have nothing to apply to). */
const ZIP_IMAGE_CONFIG =
  "Please don't provide ImageConfig when the intended function PackageType is Zip.";

/** Features Stratus cannot provide are refused, never silently ignored. */
function refuseUnsupported(input: {
  FileSystemConfigs?: unknown[];
  TenancyConfig?: unknown;
}): void {
  if (input.FileSystemConfigs?.length) {
    unsupported('Amazon EFS file systems (FileSystemConfigs) cannot be mounted into functions.');
  }
  if (input.TenancyConfig) unsupported('Tenant isolation (TenancyConfig) is not available.');
}

function loggingConfigOf(
  name: string,
  given?: LoggingConfig,
  previous?: LoggingConfig,
): LoggingConfig {
  const merged: LoggingConfig = {
    ...(previous ?? { LogFormat: 'Text', LogGroup: `/aws/lambda/${name}` }),
    ...given,
  };
  if (merged.LogFormat === 'JSON') {
    // "When you switch to JSON, the application and system log levels default to INFO."
    merged.ApplicationLogLevel ??= 'INFO';
    merged.SystemLogLevel ??= 'INFO';
  } else if (previous?.LogFormat === 'JSON') {
    delete merged.ApplicationLogLevel;
    delete merged.SystemLogLevel;
  }
  return merged;
}

/**
 * Kept and shown as given (tools read it back); Stratus places functions on no VPC, they
 * reach the network the host reaches.
 */
function vpcOf(vpc: VpcConfig | undefined): VersionRecord['vpc'] {
  if (!vpc?.SubnetIds?.length && !vpc?.SecurityGroupIds?.length) return undefined;
  return {
    subnetIds: vpc.SubnetIds ?? [],
    securityGroupIds: vpc.SecurityGroupIds ?? [],
    ipv6AllowedForDualStack: vpc.Ipv6AllowedForDualStack ?? false,
  };
}

/** The zip of a Create/UpdateFunctionCode request: ZipFile, or an S3 object. */
async function zipOf(
  deps: Pick<LambdaDeps, 's3'>,
  ctx: RequestContext,
  code: {
    ZipFile?: Uint8Array;
    S3Bucket?: string;
    S3Key?: string;
    S3ObjectVersion?: string;
    ImageUri?: string;
  },
  verb: 'creating' | 'updating',
): Promise<Buffer> {
  if (code.ImageUri !== undefined) {
    throw invalidParameter(
      `Please don't provide ImageUri when ${verb} a function with packageType Zip.`,
    );
  }
  if (code.ZipFile && code.ZipFile.length) return asBuffer(code.ZipFile);
  if (code.S3Bucket !== undefined || code.S3Key !== undefined) {
    return zipFromS3(deps, ctx, code);
  }
  throw invalidParameter('Please provide a source for function code.');
}

/** Lambda's limit on a deployment package read from S3: "250 MB (unzipped)". */
const MAX_S3_PACKAGE_BYTES = 250 * 1024 * 1024;

/**
 * A deployment package (function code or layer content) read from S3 on the caller's
 * behalf, with Lambda's wording of S3's refusal:
 * "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The
 * specified key does not exist."
 */
export async function zipFromS3(
  deps: Pick<LambdaDeps, 's3'>,
  ctx: RequestContext,
  code: { S3Bucket?: string; S3Key?: string; S3ObjectVersion?: string },
): Promise<Buffer> {
  if (code.S3Bucket === undefined || code.S3Key === undefined) {
    throw invalidParameter('Please provide both S3Bucket and S3Key.');
  }
  const read = await deps.s3.read(
    ctx,
    { bucket: code.S3Bucket, key: code.S3Key, versionId: code.S3ObjectVersion },
    MAX_S3_PACKAGE_BYTES,
  );
  if (!read.ok) {
    throw invalidParameter(
      `Error occurred while GetObject. S3 Error Code: ${read.code}. S3 Error Message: ${read.message}`,
    );
  }
  return read.body;
}

export function functionOperations(deps: LambdaDeps): FunctionOps {
  const { store, lifecycle } = deps;

  /** Runs `fn` holding the package lease (if any), releasing it whatever happens. */
  async function withLease<T>(lease: Lease | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      lease?.release();
    }
  }

  async function collect(shas: string[]): Promise<void> {
    if (shas.length) await deps.code.collect(shas, codeStillUsed(store));
  }

  /** UpdateFunctionCode of an Image function: the new URI, resolved to its digest now. */
  async function updateImageCode(
    input: UpdateFunctionCodeRequest,
    at: Located,
  ): Promise<FunctionConfiguration> {
    const image = await resolveFunctionImage(deps.images, imageUriForUpdate(input), at.scope);
    const now = deps.now();
    const shown = await store.transaction(async (tx) => {
      const fn = await requireFunction(tx, at);
      const latest = await requireLatest(tx, at);
      if (input.RevisionId !== undefined && input.RevisionId !== latest.revisionId) {
        throw revisionMismatch();
      }
      if (input.DryRun) return latest;
      latest.image = image;
      if (input.Architectures) latest.architectures = input.Architectures;
      markUpdated(latest, now);
      await tx.put(T.versions, versionKey(at.key, LATEST), latest);
      return input.Publish ? publishInTx(tx, at, fn, latest, now) : latest;
    });
    if (!input.DryRun) {
      lifecycle.settle(at.scope, at.name);
      lifecycle.changed('updated', at.scope, at.name);
    }
    const arn =
      shown.version === LATEST
        ? functionArn(at.scope, at.name)
        : qualifiedArn(at.scope, at.name, shown.version);
    return configurationOf(at.scope, at.name, shown, arn, FULL);
  }

  return {
    async CreateFunction(
      input: CreateFunctionRequest,
      ctx: RequestContext,
    ): Promise<FunctionConfiguration> {
      const at = locate(ctx, input.FunctionName, undefined, { action: 'CreateFunction' });
      if (at.qualifier !== undefined) {
        throw invalidParameter(
          `1 validation error detected: Value '${input.FunctionName}' at 'functionName' failed to satisfy constraint: Member must not include a qualifier`,
        );
      }
      checkFunctionName(input.FunctionName, at.name);
      const isImage = (input.PackageType ?? 'Zip') === 'Image';
      const imageUri = isImage ? checkImageCreate(input) : undefined;
      if (!isImage) checkRuntime(input.Runtime, input.Handler);
      if (!isImage && input.ImageConfig !== undefined) throw invalidParameter(ZIP_IMAGE_CONFIG);
      checkMemory(input.MemorySize);
      checkTimeout(input.Timeout);
      checkEnvironment(input.Environment?.Variables);
      checkLayerCount(input.Layers);
      refuseUnsupported(input);
      checkSnapStart(input.SnapStart?.ApplyOn, input.Runtime ?? '');
      const tags = input.Tags ?? {};
      checkTagCount(tags);
      const zip = isImage ? undefined : await zipOf(deps, ctx, input.Code, 'creating');
      const image =
        imageUri === undefined
          ? undefined
          : await resolveFunctionImage(deps.images, imageUri, at.scope);
      await checkExecutionRole(deps.iam, ctx.account, input.Role);

      const lease = zip === undefined ? undefined : await deps.code.ingest(zip);
      const now = deps.now();
      const shown = await withLease(lease, () =>
        store.transaction(async (tx) => {
          const layers = await resolveLayers(tx, ctx, input.Layers ?? []);
          if (lease) checkCombinedSize(lease.code, layers);
          const fn: FunctionRecord = { name: at.name, createdAt: now, tags, nextVersion: 1 };
          if (!(await tx.insert(T.functions, at.key, fn))) {
            throw conflict(`Function already exist: ${at.name}`);
          }
          const latest: VersionRecord = {
            version: LATEST,
            packageType: isImage ? 'Image' : 'Zip',
            role: input.Role,
            description: input.Description ?? '',
            timeout: input.Timeout ?? DEFAULT_TIMEOUT,
            memorySize: input.MemorySize ?? DEFAULT_MEMORY,
            ephemeralStorage: input.EphemeralStorage?.Size ?? DEFAULT_EPHEMERAL,
            tracingMode: input.TracingConfig?.Mode ?? 'PassThrough',
            architectures: input.Architectures ?? ['x86_64'],
            layers,
            lastModified: lambdaDate(now),
            revisionId: newRevisionId(),
            state: 'Pending',
            stateReason: CREATING.reason,
            stateReasonCode: CREATING.code,
            loggingConfig: loggingConfigOf(at.name, input.LoggingConfig),
            snapStart: input.SnapStart?.ApplyOn ?? 'None',
            contentId: newRevisionId(),
          };
          if (input.Runtime !== undefined) latest.runtime = input.Runtime;
          if (input.Handler !== undefined) latest.handler = input.Handler;
          if (lease) latest.code = lease.code;
          if (image) latest.image = image;
          if (isImage && input.ImageConfig) latest.imageConfig = input.ImageConfig;
          if (input.Environment?.Variables) latest.environment = input.Environment.Variables;
          if (input.DeadLetterConfig?.TargetArn)
            latest.deadLetterTargetArn = input.DeadLetterConfig.TargetArn;
          if (input.KMSKeyArn) latest.kmsKeyArn = input.KMSKeyArn;
          const vpc = vpcOf(input.VpcConfig);
          if (vpc) latest.vpc = vpc;
          const capacity =
            input.CapacityProviderConfig?.LambdaManagedInstancesCapacityProviderConfig;
          if (capacity) {
            await checkFunctionCapacity(tx, at.scope, capacity, latest.memorySize);
            latest.capacityProvider = capacity;
          }
          if (input.DurableConfig) latest.durable = input.DurableConfig;
          await tx.put(T.versions, versionKey(at.key, LATEST), latest);
          if (input.CodeSigningConfigArn !== undefined)
            await attachCodeSigning(tx, at.key, input.CodeSigningConfigArn);
          await retainVersionCode(tx, latest);
          return input.Publish ? publishInTx(tx, at, fn, latest, now) : latest;
        }),
      );
      lifecycle.settle(at.scope, at.name);
      lifecycle.changed('updated', at.scope, at.name);
      // The answer is the new version before the state flip, without LastUpdateStatus.
      return configurationOf(at.scope, at.name, shown, functionArn(at.scope, at.name), {
        state: true,
        updateStatus: false,
      });
    },

    async GetFunction(
      input: GetFunctionRequest,
      ctx: RequestContext,
    ): Promise<GetFunctionResponse> {
      const at = locate(ctx, input.FunctionName, input.Qualifier, { action: 'GetFunction' });
      const fn = await requireFunction(store, at, at.qualifier);
      const { version } = await resolveTarget(store, at, at.qualifier);
      const out: GetFunctionResponse = {
        Configuration: configurationOf(
          at.scope,
          at.name,
          version,
          shownArn(at, at.qualifier),
          FULL,
        ),
        Code: version.image
          ? {
              RepositoryType: 'ECR',
              ImageUri: version.image.uri,
              ResolvedImageUri: version.image.resolvedUri,
            }
          : {
              RepositoryType: 'S3',
              Location: version.code
                ? await deps.code.downloadUrl(deps.endpoint(), version.code.sha)
                : undefined,
            },
      };
      if (Object.keys(fn.tags).length) out.Tags = fn.tags;
      if (fn.reservedConcurrency !== undefined) {
        out.Concurrency = { ReservedConcurrentExecutions: fn.reservedConcurrency };
      }
      return out;
    },

    async GetFunctionConfiguration(
      input: GetFunctionConfigurationRequest,
      ctx: RequestContext,
    ): Promise<FunctionConfiguration> {
      const at = locate(ctx, input.FunctionName, input.Qualifier, {
        action: 'GetFunctionConfiguration',
      });
      await requireFunction(store, at, at.qualifier);
      const { version } = await resolveTarget(store, at, at.qualifier);
      return configurationOf(at.scope, at.name, version, shownArn(at, at.qualifier), FULL);
    },

    async ListFunctions(
      input: ListFunctionsRequest,
      ctx: RequestContext,
    ): Promise<ListFunctionsResponse> {
      const scope = scopeOf(ctx);
      const out: ListFunctionsResponse = { Functions: [] };
      const functions = out.Functions as FunctionConfiguration[];
      if (input.FunctionVersion === 'ALL') {
        // Every version of every function, in name then version order.
        const page = await pageStore<VersionRecord>(
          store,
          T.versions,
          scopePrefix(scope),
          input.Marker,
          input.MaxItems,
        );
        for (const { key, value } of page.items) {
          const name = key.slice(scopePrefix(scope).length, key.lastIndexOf(':'));
          functions.push(
            configurationOf(scope, name, value, qualifiedArn(scope, name, value.version), LISTED),
          );
        }
        if (page.nextMarker) out.NextMarker = page.nextMarker;
        return out;
      }
      const page = await pageStore<FunctionRecord>(
        store,
        T.functions,
        scopePrefix(scope),
        input.Marker,
        input.MaxItems,
      );
      for (const { key, value } of page.items) {
        const latest = await store.get<VersionRecord>(T.versions, versionKey(key, LATEST));
        if (latest)
          functions.push(
            configurationOf(scope, value.name, latest, functionArn(scope, value.name), LISTED),
          );
      }
      if (page.nextMarker) out.NextMarker = page.nextMarker;
      return out;
    },

    async UpdateFunctionCode(
      input: UpdateFunctionCodeRequest,
      ctx: RequestContext,
    ): Promise<FunctionConfiguration> {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'UpdateFunctionCode',
        allowQualifier: false,
      });
      await requireFunction(store, at);
      if ((await requireLatest(store, at)).packageType === 'Image') {
        return updateImageCode(input, at);
      }
      const zip = await zipOf(deps, ctx, input, 'updating');
      const lease = await deps.code.ingest(zip);
      const now = deps.now();
      let unused: string[] = [];
      const shown = await withLease(lease, () =>
        store.transaction(async (tx) => {
          const fn = await requireFunction(tx, at);
          const latest = await requireLatest(tx, at);
          if (input.RevisionId !== undefined && input.RevisionId !== latest.revisionId) {
            throw revisionMismatch();
          }
          checkCombinedSize(lease.code, latest.layers);
          if (input.DryRun) return latest;
          const old = latest.code?.sha;
          latest.code = lease.code;
          if (input.Architectures) latest.architectures = input.Architectures;
          markUpdated(latest, now);
          await tx.put(T.versions, versionKey(at.key, LATEST), latest);
          await retainCode(tx, lease.code.sha);
          if (old !== undefined && (await releaseCode(tx, old))) unused = [old];
          return input.Publish ? publishInTx(tx, at, fn, latest, now) : latest;
        }),
      );
      // A dry run may have stored a package nothing references.
      await collect(input.DryRun ? [lease.code.sha] : unused);
      if (!input.DryRun) {
        lifecycle.settle(at.scope, at.name);
        lifecycle.changed('updated', at.scope, at.name);
      }
      const arn =
        shown.version === LATEST
          ? functionArn(at.scope, at.name)
          : qualifiedArn(at.scope, at.name, shown.version);
      return configurationOf(at.scope, at.name, shown, arn, FULL);
    },

    async UpdateFunctionConfiguration(
      input: UpdateFunctionConfigurationRequest,
      ctx: RequestContext,
    ): Promise<FunctionConfiguration> {
      const at = locate(ctx, input.FunctionName, undefined, {
        action: 'UpdateFunctionConfiguration',
        allowQualifier: false,
      });
      checkMemory(input.MemorySize);
      checkTimeout(input.Timeout);
      checkEnvironment(input.Environment?.Variables);
      checkLayerCount(input.Layers);
      refuseUnsupported(input);
      if (input.Role !== undefined) await checkExecutionRole(deps.iam, ctx.account, input.Role);
      const now = deps.now();
      let unused: string[] = [];
      const latest = await store.transaction(async (tx) => {
        await requireFunction(tx, at);
        const latest = await requireLatest(tx, at);
        if (input.RevisionId !== undefined && input.RevisionId !== latest.revisionId) {
          throw revisionMismatch();
        }
        if (latest.packageType === 'Image') {
          if (input.Runtime !== undefined || input.Handler !== undefined || input.Layers?.length) {
            throw invalidParameter(IMAGE_ONLY_FIELDS);
          }
          // The whole ImageConfig is replaced; an empty one goes back to the image's own.
          if (input.ImageConfig) latest.imageConfig = input.ImageConfig;
        } else {
          if (input.ImageConfig !== undefined) throw invalidParameter(ZIP_IMAGE_CONFIG);
          if (input.Runtime !== undefined || input.Handler !== undefined) {
            checkRuntime(input.Runtime ?? latest.runtime, input.Handler ?? latest.handler);
          }
          if (input.Runtime !== undefined) latest.runtime = input.Runtime;
          if (input.Handler !== undefined) latest.handler = input.Handler;
        }
        checkSnapStart(input.SnapStart?.ApplyOn, latest.runtime ?? '');
        if (input.Role !== undefined) latest.role = input.Role;
        if (input.Description !== undefined) latest.description = input.Description;
        if (input.Timeout !== undefined) latest.timeout = input.Timeout;
        if (input.MemorySize !== undefined) latest.memorySize = input.MemorySize;
        if (input.EphemeralStorage) latest.ephemeralStorage = input.EphemeralStorage.Size;
        if (input.Environment) latest.environment = input.Environment.Variables ?? {};
        if (input.TracingConfig?.Mode) latest.tracingMode = input.TracingConfig.Mode;
        if (input.KMSKeyArn !== undefined) {
          if (input.KMSKeyArn) latest.kmsKeyArn = input.KMSKeyArn;
          else delete latest.kmsKeyArn;
        }
        if (input.DeadLetterConfig) {
          if (input.DeadLetterConfig.TargetArn)
            latest.deadLetterTargetArn = input.DeadLetterConfig.TargetArn;
          else delete latest.deadLetterTargetArn;
        }
        if (input.VpcConfig) {
          const vpc = vpcOf(input.VpcConfig);
          if (vpc) latest.vpc = vpc;
          else delete latest.vpc;
        }
        if (input.SnapStart?.ApplyOn) latest.snapStart = input.SnapStart.ApplyOn;
        const capacity = input.CapacityProviderConfig?.LambdaManagedInstancesCapacityProviderConfig;
        if (capacity) latest.capacityProvider = capacity;
        if (latest.capacityProvider) {
          await checkFunctionCapacity(tx, at.scope, latest.capacityProvider, latest.memorySize);
        }
        if (input.DurableConfig) latest.durable = { ...latest.durable, ...input.DurableConfig };
        if (input.LoggingConfig) {
          latest.loggingConfig = loggingConfigOf(
            at.name,
            input.LoggingConfig,
            latest.loggingConfig,
          );
        }
        if (input.Layers) {
          const layers = await resolveLayers(tx, ctx, input.Layers);
          if (latest.code) checkCombinedSize(latest.code, layers);
          for (const l of layers) await retainCode(tx, l.code.sha);
          for (const l of latest.layers)
            if (await releaseCode(tx, l.code.sha)) unused.push(l.code.sha);
          latest.layers = layers;
        }
        markUpdated(latest, now);
        await tx.put(T.versions, versionKey(at.key, LATEST), latest);
        return latest;
      });
      unused = unused.filter((sha) => !latest.layers.some((l) => l.code.sha === sha));
      await collect(unused);
      lifecycle.settle(at.scope, at.name);
      lifecycle.changed('updated', at.scope, at.name);
      return configurationOf(at.scope, at.name, latest, functionArn(at.scope, at.name), FULL);
    },

    async DeleteFunction(
      input: DeleteFunctionRequest,
      ctx: RequestContext,
    ): Promise<DeleteFunctionResponse> {
      const at = locate(ctx, input.FunctionName, input.Qualifier, { action: 'DeleteFunction' });
      const q = at.qualifier;
      if (q === LATEST) {
        throw invalidParameter('$LATEST version cannot be deleted without deleting the function.');
      }
      if (q !== undefined && isAliasName(q))
        throw functionNotFound(qualifiedArn(at.scope, at.name, q));
      const unused = await store.transaction(async (tx) => {
        await requireFunction(tx, at);
        return q === undefined ? deleteWholeFunction(tx, at) : deleteVersion(tx, at, q);
      });
      await collect(unused);
      lifecycle.changed(q === undefined ? 'deleted' : 'updated', at.scope, at.name);
      return { StatusCode: 204 };
    },
  };
}

/** A code or configuration change of $LATEST: new revision, content and update status. */
function markUpdated(latest: VersionRecord, now: number): void {
  latest.lastModified = lambdaDate(now);
  latest.revisionId = newRevisionId();
  latest.contentId = newRevisionId();
  latest.lastUpdateStatus = 'InProgress';
  latest.lastUpdateStatusReason = CREATING.reason;
  latest.lastUpdateStatusReasonCode = CREATING.code;
}

async function deleteVersion(tx: MetadataOps, at: Located, version: string): Promise<string[]> {
  const vKey = versionKey(at.key, version);
  const v = await tx.get<VersionRecord>(T.versions, vKey);
  if (!v) throw functionNotFound(qualifiedArn(at.scope, at.name, version));
  const users = (await tx.list<AliasRecord>(T.aliases, { prefix: childPrefix(at.key) }))
    .map((r) => r.value)
    .filter((a) => a.functionVersion === version || (a.weights && version in a.weights))
    .map((a) => a.name);
  if (users.length) {
    throw conflict(
      `Unable to delete version because the following aliases reference it: [${users.join(', ')}]`,
    );
  }
  await tx.delete(T.versions, vKey);
  await tx.delete(T.policies, qualifierKey(at.key, version));
  await tx.delete(T.eventInvoke, qualifierKey(at.key, version));
  await tx.delete(T.scaling, qualifierKey(at.key, version));
  return releaseVersionCode(tx, v);
}

async function deleteWholeFunction(tx: MetadataOps, at: Located): Promise<string[]> {
  const prefix = childPrefix(at.key);
  const unused: string[] = [];
  for (const { value } of await tx.list<VersionRecord>(T.versions, { prefix })) {
    unused.push(...(await releaseVersionCode(tx, value)));
  }
  for (const { value } of await tx.list<UrlConfigRecord>(T.urls, { prefix })) {
    await tx.delete(T.urlIds, value.urlId);
  }
  for (const table of [
    T.versions,
    T.aliases,
    T.policies,
    T.eventInvoke,
    T.urls,
    T.provisioned,
    T.scaling,
  ]) {
    await tx.deletePrefix(table, prefix);
  }
  await tx.delete(T.functionCodeSigning, at.key);
  await tx.delete(T.functions, at.key);
  return unused;
}
