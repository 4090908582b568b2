/**
 * A stored version as the API shows it (FunctionConfiguration). GetFunction and
 * GetFunctionConfiguration show the state fields; list operations leave them out (as AWS
 * does), and CreateFunction's answer has no LastUpdateStatus yet.
 */
import { buildArn } from '../../shared/arn.js';
import { createHash } from 'node:crypto';
import type { FunctionConfiguration, LastUpdateStatusReasonCode } from '../../api/lambda/types.js';
import type { Scope } from './arns.js';
import { codeSha256 } from './code-store.js';
import type { VersionRecord } from './store.js';

export interface ViewParts {
  /** State, StateReason(Code). */
  state: boolean;
  /** LastUpdateStatus and its reasons. */
  updateStatus: boolean;
}

export const FULL: ViewParts = { state: true, updateStatus: true };
export const LISTED: ViewParts = { state: false, updateStatus: false };

const runtimeVersionIds = new Map<string, string>();

/** A stable runtime version ARN per runtime (AWS: a hash of the runtime image). */
function runtimeVersionArn(region: string, runtime: string): string {
  let id = runtimeVersionIds.get(runtime);
  if (!id) {
    id = createHash('sha256').update(`stratus:${runtime}`).digest('hex');
    runtimeVersionIds.set(runtime, id);
  }
  return buildArn('lambda', region, '', `runtime:${id}`);
}

/** CodeSha256: base64 of the zip's sha256, or the hex of an image's manifest digest. */
export function versionCodeSha256(v: VersionRecord): string {
  if (v.image !== undefined) return v.image.digest.slice('sha256:'.length);
  return v.code ? codeSha256(v.code.sha) : '';
}

/**
 * @param arn the FunctionArn to show: unqualified, qualified by version, or by the alias
 *   the caller named.
 */
export function configurationOf(
  scope: Scope,
  name: string,
  v: VersionRecord,
  arn: string,
  parts: ViewParts,
): FunctionConfiguration {
  const out: FunctionConfiguration = { FunctionName: name, FunctionArn: arn };
  // An image function has no Runtime or Handler; its CodeSize is 0 and its CodeSha256 the
  // image's manifest digest (hex).
  if (v.runtime !== undefined) out.Runtime = v.runtime;
  out.Role = v.role;
  if (v.handler !== undefined) out.Handler = v.handler;
  Object.assign(out, {
    CodeSize: v.code?.size ?? 0,
    Description: v.description,
    Timeout: v.timeout,
    MemorySize: v.memorySize,
    LastModified: v.lastModified,
    CodeSha256: versionCodeSha256(v),
    Version: v.version,
  });
  if (v.vpc) {
    out.VpcConfig = {
      SubnetIds: v.vpc.subnetIds,
      SecurityGroupIds: v.vpc.securityGroupIds,
      VpcId: '',
      Ipv6AllowedForDualStack: v.vpc.ipv6AllowedForDualStack,
    };
  }
  if (v.deadLetterTargetArn) out.DeadLetterConfig = { TargetArn: v.deadLetterTargetArn };
  if (v.environment) out.Environment = { Variables: v.environment };
  if (v.kmsKeyArn) out.KMSKeyArn = v.kmsKeyArn;
  out.TracingConfig = { Mode: v.tracingMode };
  out.RevisionId = v.revisionId;
  if (v.layers.length) {
    out.Layers = v.layers.map((l) => ({ Arn: l.arn, CodeSize: l.code.size }));
  }
  if (parts.state) {
    out.State = v.state;
    if (v.stateReason) out.StateReason = v.stateReason;
    if (v.stateReasonCode) out.StateReasonCode = v.stateReasonCode;
  }
  if (parts.updateStatus && v.lastUpdateStatus) {
    out.LastUpdateStatus = v.lastUpdateStatus;
    if (v.lastUpdateStatusReason) out.LastUpdateStatusReason = v.lastUpdateStatusReason;
    if (v.lastUpdateStatusReasonCode) {
      out.LastUpdateStatusReasonCode = v.lastUpdateStatusReasonCode as LastUpdateStatusReasonCode;
    }
  }
  out.PackageType = v.packageType;
  out.Architectures = v.architectures;
  out.EphemeralStorage = { Size: v.ephemeralStorage };
  out.SnapStart = {
    ApplyOn: v.snapStart,
    OptimizationStatus:
      v.snapStart === 'PublishedVersions' && v.version !== '$LATEST' ? 'On' : 'Off',
  };
  if (parts.state && v.runtime !== undefined) {
    out.RuntimeVersionConfig = { RuntimeVersionArn: runtimeVersionArn(scope.region, v.runtime) };
  }
  if (v.imageConfig !== undefined && Object.keys(v.imageConfig).length) {
    out.ImageConfigResponse = { ImageConfig: v.imageConfig };
  }
  out.LoggingConfig = v.loggingConfig;
  if (v.capacityProvider) {
    out.CapacityProviderConfig = {
      LambdaManagedInstancesCapacityProviderConfig: v.capacityProvider,
    };
  }
  if (v.durable) out.DurableConfig = v.durable;
  return out;
}
