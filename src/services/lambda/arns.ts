/**
 * Lambda names and ARNs. A function is named, on every operation that takes one, as
 *   my-function                                         (name)
 *   my-function:v1                                      (name + qualifier)
 *   123456789012:function:my-function[:v1]              (partial ARN)
 *   arn:aws:lambda:us-east-1:123456789012:function:my-function[:v1]   (full ARN)
 * https://docs.aws.amazon.com/lambda/latest/api/API_GetFunction.html#API_GetFunction_RequestSyntax
 * Qualifiers are `$LATEST`, a version number or an alias name (never all digits).
 */
import { buildArn, parseArn } from '../../shared/arn.js';
import type { RequestContext } from '../../shared/context.js';
import { accessDenied, invalidParameter, notFound, validationException } from './errors.js';

export interface Scope {
  account: string;
  region: string;
}

export const LATEST = '$LATEST';

export const functionArn = (scope: Scope, name: string): string =>
  buildArn('lambda', scope.region, scope.account, `function:${name}`);

export const qualifiedArn = (scope: Scope, name: string, qualifier: string): string =>
  `${functionArn(scope, name)}:${qualifier}`;

/** Qualified when a qualifier is given, unqualified otherwise (AWS's not-found messages). */
export const arnFor = (scope: Scope, name: string, qualifier?: string): string =>
  qualifier === undefined ? functionArn(scope, name) : qualifiedArn(scope, name, qualifier);

export const layerArn = (scope: Scope, name: string): string =>
  buildArn('lambda', scope.region, scope.account, `layer:${name}`);

export const layerVersionArn = (scope: Scope, name: string, version: number): string =>
  `${layerArn(scope, name)}:${version}`;

const DIGITS = /^[0-9]+$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d$/;
const NAME = /^[a-zA-Z0-9_.-]+$/;
const ALIAS = /^[a-zA-Z0-9_-]+$/;

export const isVersionNumber = (q: string): boolean => DIGITS.test(q);
/** An alias name: letters, digits, `-`, `_`, and not only digits. */
export const isAliasName = (q: string): boolean => ALIAS.test(q) && !DIGITS.test(q);

export interface FunctionRef {
  name: string;
  qualifier?: string;
  /** Present when the caller named the function by ARN. */
  account?: string;
  region?: string;
}

/** Splits any of the four forms; undefined when it is none of them. */
export function parseFunctionRef(ref: string): FunctionRef | undefined {
  const parts = ref.split(':');
  let out: FunctionRef;
  if (parts[0] === 'arn') {
    // arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]
    if (parts.length < 7 || parts.length > 8 || parts[2] !== 'lambda' || parts[5] !== 'function')
      return undefined;
    if (!parts[1].startsWith('aws') || !REGION.test(parts[3]) || !ACCOUNT.test(parts[4]))
      return undefined;
    out = { name: parts[6], qualifier: parts[7], region: parts[3], account: parts[4] };
  } else {
    // [<region>:]<account>:function:<name>[:<qualifier>], or <name>[:<qualifier>]
    const i = parts.length >= 4 && REGION.test(parts[0]) && parts[2] === 'function' ? 1 : 0;
    if (parts.length - i >= 3 && parts[i + 1] === 'function') {
      if (parts.length - i > 4 || !ACCOUNT.test(parts[i])) return undefined;
      out = { name: parts[i + 2], qualifier: parts[i + 3], account: parts[i] };
      if (i === 1) out.region = parts[0];
    } else if (parts.length <= 2) {
      out = { name: parts[0], qualifier: parts[1] };
    } else {
      return undefined;
    }
  }
  if (!NAME.test(out.name)) return undefined;
  if (out.qualifier !== undefined && out.qualifier !== LATEST && !ALIAS.test(out.qualifier))
    return undefined;
  return out;
}

export interface ResolvedRef {
  scope: Scope;
  name: string;
  qualifier?: string;
}

export interface ResolveOptions {
  /** The IAM action name, for AWS's cross-account AccessDenied message. */
  action: string;
  /** Operations that never take a qualifier ignore a qualified name's qualifier only if false. */
  allowQualifier?: boolean;
}

const FUNCTION_NAME_PATTERN =
  '(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?';

/**
 * Resolves a FunctionName (+ optional Qualifier parameter) against the caller: the ARN's
 * region must be the caller's ("Functions from 'X' are not reachable in this region"), the
 * account the caller's unless the gateway's authoriser granted the call by the function's
 * resource policy (`ctx.authorized`; otherwise AccessDenied, as AWS answers without a
 * policy), and a qualifier in the name must agree with the Qualifier parameter.
 */
export function resolveFunctionRef(
  ctx: Pick<RequestContext, 'account' | 'region' | 'principal' | 'authorized'>,
  functionName: string,
  qualifierParam: string | undefined,
  options: ResolveOptions,
): ResolvedRef {
  const ref = parseFunctionRef(functionName);
  if (!ref) {
    throw validationException([
      `Value '${functionName}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: ${FUNCTION_NAME_PATTERN}`,
    ]);
  }
  if (ref.region !== undefined && ref.region !== ctx.region) {
    throw notFound(
      `Functions from '${ref.region}' are not reachable in this region ('${ctx.region}')`,
    );
  }
  let scope = { account: ctx.account, region: ctx.region };
  if (ref.account !== undefined && ref.account !== ctx.account && ctx.authorized === true) {
    scope = { account: ref.account, region: ctx.region };
  } else if (ref.account !== undefined && ref.account !== ctx.account) {
    const region = ref.region ?? ctx.region;
    throw accessDenied(
      ctx.principal.arn,
      options.action,
      arnFor({ account: ref.account, region }, ref.name, ref.qualifier),
    );
  }
  if (
    qualifierParam !== undefined &&
    ref.qualifier !== undefined &&
    qualifierParam !== ref.qualifier
  ) {
    throw invalidParameter(
      'The derived qualifier from the function name does not match the specified qualifier.',
    );
  }
  const qualifier = qualifierParam ?? ref.qualifier;
  if (qualifier !== undefined && options.allowQualifier === false) {
    throw invalidParameter(
      'This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.',
    );
  }
  return { scope, name: ref.name, qualifier };
}

export interface LayerRef {
  scope: Scope;
  name: string;
  version?: number;
}

const LAYER_REGION = /^[a-z0-9-]+$/;
const LAYER_RESOURCE = /^layer:([a-zA-Z0-9_-]+)(?::(\d+))?$/;

/** A layer ARN (with or without version), or undefined. */
export function parseLayerArn(arn: string): LayerRef | undefined {
  const p = parseArn(arn);
  if (p?.service !== 'lambda' || !LAYER_REGION.test(p.region) || !ACCOUNT.test(p.account)) {
    return undefined;
  }
  const m = LAYER_RESOURCE.exec(p.resource);
  if (!m) return undefined;
  return {
    scope: { region: p.region, account: p.account },
    name: m[1],
    version: m[2] === undefined ? undefined : Number(m[2]),
  };
}

/** LayerName parameters take a name or a layer ARN. */
export function resolveLayerName(scope: Scope, layerName: string): LayerRef {
  return parseLayerArn(layerName) ?? { scope, name: layerName };
}
