/**
 * Lambda's tables in the MetadataStore and the key layout that orders them.
 *
 * Function keys are `<account>:<region>:<name>`; a function's versions, aliases, policies,
 * event invoke configs and URL configs are keyed `<function key>:<qualifier>`. Names never
 * contain ':' so one function's children never share a prefix with another's. Version
 * numbers are zero-padded to 10 digits, so byte order is numeric order and `$LATEST`
 * (0x24 < '0') comes first, exactly as ListVersionsByFunction returns them.
 */
import type {
  Architecture,
  Cors,
  DestinationConfig,
  FunctionUrlAuthType,
  DurableConfig,
  ImageConfig,
  LambdaManagedInstancesCapacityProviderConfig,
  InvokeMode,
  LastUpdateStatus,
  LastUpdateStatusReasonCode,
  LoggingConfig,
  PackageType,
  RecursiveLoop,
  Runtime,
  SnapStartApplyOn,
  State,
  StateReasonCode,
  TracingMode,
  UpdateRuntimeOn,
} from '../../api/lambda/types.js';
import type { MetadataOps } from '../../storage/types.js';
import { LATEST, type Scope } from './arns.js';

export const T = {
  functions: 'lambda_functions',
  versions: 'lambda_versions',
  aliases: 'lambda_aliases',
  policies: 'lambda_policies',
  eventInvoke: 'lambda_event_invoke_configs',
  urls: 'lambda_url_configs',
  /** url id → owner, for the function URL data plane. */
  urlIds: 'lambda_url_ids',
  layers: 'lambda_layers',
  layerVersions: 'lambda_layer_versions',
  /** code sha (hex) → how many versions and layer versions use it. */
  codeRefs: 'lambda_code_refs',
  /** `<account>:<region>:csc-…` → a code signing configuration. */
  codeSigning: 'lambda_code_signing_configs',
  /** function key → the code signing configuration it uses. */
  functionCodeSigning: 'lambda_function_code_signing',
  /** qualifier key (alias or version) → provisioned concurrency. */
  provisioned: 'lambda_provisioned_concurrency',
  /** layer version key → its resource policy statements. */
  layerPolicies: 'lambda_layer_policies',
  /** `<account>:<region>:<name>` → a Managed Instances capacity provider. */
  capacityProviders: 'lambda_capacity_providers',
  /** published version key → its function scaling config (Managed Instances). */
  scaling: 'lambda_function_scaling',
  /** `<account>:<region>:<function>:<execution name>` → a durable execution. */
  durableExecutions: 'lambda_durable_executions',
} as const;

export const scopePrefix = (scope: Scope): string => `${scope.account}:${scope.region}:`;
export const functionKey = (scope: Scope, name: string): string => scopePrefix(scope) + name;
export const childPrefix = (fnKey: string): string => fnKey + ':';

/** Version qualifier in key form: `$LATEST` as is, numbers padded. */
export function versionKeyPart(version: string): string {
  return version === LATEST ? LATEST : version.padStart(10, '0');
}
export const versionKey = (fnKey: string, version: string): string =>
  `${fnKey}:${versionKeyPart(version)}`;
export const qualifierKey = (fnKey: string, qualifier: string): string => `${fnKey}:${qualifier}`;

export const layerKey = (scope: Scope, name: string): string => scopePrefix(scope) + name;
export const layerVersionKey = (lKey: string, version: number): string =>
  `${lKey}:${String(version).padStart(10, '0')}`;

/** A zip stored in the BlobStore and extracted on disk. */
export interface CodeRef {
  /** sha256 of the zip, hex (the blob digest without `sha256:`). */
  sha: string;
  /** Zip size in bytes (CodeSize). */
  size: number;
  /** Extracted size in bytes. */
  unzippedSize: number;
}

/**
 * The container image of a `PackageType: Image` version: the URI as given (a tag or a
 * digest) and the image it resolved to when the code was set. Versions run the digest, so
 * a tag moved later changes nothing until UpdateFunctionCode.
 */
export interface ImageRef {
  /** Code.ImageUri as the caller gave it. */
  uri: string;
  /** `<acct>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:…` (Code.ResolvedImageUri). */
  resolvedUri: string;
  /** The manifest digest, `sha256:…`. */
  digest: string;
}

export interface FunctionLayerRef {
  arn: string;
  code: CodeRef;
}

export interface FunctionRecord {
  name: string;
  createdAt: number;
  tags: Record<string, string>;
  reservedConcurrency?: number;
  /** PutFunctionRecursionConfig; AWS's default is Terminate. */
  recursiveLoop?: RecursiveLoop;
  /** PutRuntimeManagementConfig per qualifier ($LATEST or a version). */
  runtimeManagement?: Record<
    string,
    { updateRuntimeOn: UpdateRuntimeOn; runtimeVersionArn?: string }
  >;
  /** The next published version number. */
  nextVersion: number;
}

/** One version of a function: `$LATEST` or a published number. */
export interface VersionRecord {
  version: string;
  packageType: PackageType;
  /** Zip functions only (an image brings its own runtime and handler). */
  runtime?: Runtime;
  handler?: string;
  role: string;
  description: string;
  timeout: number;
  memorySize: number;
  ephemeralStorage: number;
  environment?: Record<string, string>;
  tracingMode: TracingMode;
  architectures: Architecture[];
  layers: FunctionLayerRef[];
  /** The zip (PackageType Zip). */
  code?: CodeRef;
  /** The image (PackageType Image) and its ImageConfig overrides. */
  image?: ImageRef;
  imageConfig?: ImageConfig;
  /** AWS's `2024-01-01T00:00:00.000+0000`. */
  lastModified: string;
  revisionId: string;
  state: State;
  stateReason?: string;
  stateReasonCode?: StateReasonCode;
  lastUpdateStatus?: LastUpdateStatus;
  lastUpdateStatusReason?: string;
  /** AWS answers `Creating` while an update is in progress, a code its model does not list. */
  lastUpdateStatusReasonCode?: LastUpdateStatusReasonCode | 'Creating';
  loggingConfig: LoggingConfig;
  snapStart: SnapStartApplyOn;
  deadLetterTargetArn?: string;
  kmsKeyArn?: string;
  vpc?: { subnetIds: string[]; securityGroupIds: string[]; ipv6AllowedForDualStack: boolean };
  /** Lambda Managed Instances: the capacity provider the version runs on. */
  capacityProvider?: LambdaManagedInstancesCapacityProviderConfig;
  /** Durable functions: DurableConfig as given (RetentionPeriodInDays, ExecutionTimeout). */
  durable?: DurableConfig;
  /**
   * Changes with every code or configuration change of $LATEST (not with state flips, tags
   * or policies); a published version keeps the value it was made from, which is how
   * PublishVersion tells "nothing changed since the last version".
   */
  contentId: string;
}

export interface AliasRecord {
  name: string;
  functionVersion: string;
  description: string;
  /** Additional version → weight (0–1); at most one entry. */
  weights?: Record<string, number>;
  revisionId: string;
}

/** One statement as AWS renders it in GetPolicy. */
export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: string | Record<string, string>;
  Action: string;
  Resource: string;
  Condition?: Record<string, Record<string, string>>;
}

export interface PolicyRecord {
  statements: PolicyStatement[];
}

export interface EventInvokeConfigRecord {
  qualifier: string;
  maximumRetryAttempts?: number;
  maximumEventAgeInSeconds?: number;
  destinationConfig: DestinationConfig;
  /** Epoch milliseconds. */
  lastModified: number;
}

export interface UrlConfigRecord {
  /** The alias, or `$LATEST` for the unqualified function. */
  qualifier: string;
  urlId: string;
  authType: FunctionUrlAuthType;
  cors?: Cors;
  invokeMode: InvokeMode;
  creationTime: string;
  lastModifiedTime: string;
}

export interface UrlIdRecord {
  account: string;
  region: string;
  functionName: string;
  qualifier: string;
}

export interface LayerRecord {
  name: string;
  nextVersion: number;
}

export interface LayerVersionRecord {
  name: string;
  version: number;
  description: string;
  createdDate: string;
  compatibleRuntimes?: Runtime[];
  compatibleArchitectures?: Architecture[];
  licenseInfo?: string;
  code: CodeRef;
}

export interface CodeRefRecord {
  refs: number;
}

/** Counts one more user of a zip (a version or a layer version) inside a transaction. */
export async function retainCode(tx: MetadataOps, sha: string): Promise<void> {
  const rec = await tx.get<CodeRefRecord>(T.codeRefs, sha);
  await tx.put<CodeRefRecord>(T.codeRefs, sha, { refs: (rec?.refs ?? 0) + 1 });
}

/**
 * Counts one user less; resolves true when nobody uses the zip any more (the caller
 * collects it once the transaction committed).
 */
export async function releaseCode(tx: MetadataOps, sha: string): Promise<boolean> {
  const rec = await tx.get<CodeRefRecord>(T.codeRefs, sha);
  const refs = (rec?.refs ?? 1) - 1;
  if (refs <= 0) {
    await tx.delete(T.codeRefs, sha);
    return true;
  }
  await tx.put<CodeRefRecord>(T.codeRefs, sha, { refs });
  return false;
}

/** Every zip a version uses: its own and its layers'. */
export function codeShas(v: VersionRecord): string[] {
  const out = v.code ? [v.code.sha] : [];
  for (const l of v.layers) out.push(l.code.sha);
  return out;
}

export async function retainVersionCode(tx: MetadataOps, v: VersionRecord): Promise<void> {
  for (const sha of codeShas(v)) await retainCode(tx, sha);
}

/** Releases a version's zips; returns those nobody uses any more. */
export async function releaseVersionCode(tx: MetadataOps, v: VersionRecord): Promise<string[]> {
  const unused: string[] = [];
  for (const sha of codeShas(v)) if (await releaseCode(tx, sha)) unused.push(sha);
  return unused;
}
