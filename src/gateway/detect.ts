/**
 * Which AWS service a request is for, the way AWS's own front ends decide: the SigV4
 * credential scope first, then `X-Amz-Target` (json protocols), then the Host name
 * (`<endpointPrefix>.<region>.amazonaws.com`), then the path.
 */
import { services, type ServiceInfo } from '../api/services.js';

const bySigningName = new Map<string, ServiceInfo[]>();
const byTargetPrefix = new Map<string, ServiceInfo>();
const byEndpointPrefix = new Map<string, ServiceInfo>();
const byUnsignedAction = new Map<string, ServiceInfo>();
for (const s of services) {
  for (const action of s.unsignedActions ?? []) byUnsignedAction.set(action, s);
  const list = bySigningName.get(s.signingName) ?? [];
  list.push(s);
  bySigningName.set(s.signingName, list);
  if (s.targetPrefix) byTargetPrefix.set(s.targetPrefix, s);
  if (!byEndpointPrefix.has(s.endpointPrefix)) byEndpointPrefix.set(s.endpointPrefix, s);
}

export interface DetectInput {
  /** Service name from the SigV4 credential scope, when the request is signed. */
  scopeService?: string;
  path: string;
  headers: Record<string, string>;
}

export function detectService(input: DetectInput): ServiceInfo | undefined {
  const { scopeService, path, headers } = input;
  if (scopeService) {
    const candidates = bySigningName.get(scopeService);
    if (candidates) {
      return candidates.length === 1 ? candidates[0] : disambiguate(candidates, path, headers);
    }
  }
  const target = headers['x-amz-target'];
  if (target) {
    const dot = target.indexOf('.');
    const svc = byTargetPrefix.get(dot > 0 ? target.slice(0, dot) : target);
    if (svc) return svc;
  }
  const host = headers.host;
  if (host && host.endsWith('.amazonaws.com')) {
    const first = host.slice(0, host.indexOf('.'));
    const svc = byEndpointPrefix.get(first);
    if (svc) return svc;
  }
  return undefined;
}

/**
 * The service of an unsigned query call AWS accepts (`authtype: none`: STS's
 * AssumeRoleWithWebIdentity and AssumeRoleWithSAML). AWS knows the service by its host;
 * on one endpoint only the Action says it. Other actions stay unclaimed.
 */
export function serviceForUnsignedAction(action: string | null): ServiceInfo | undefined {
  return action ? byUnsignedAction.get(action) : undefined;
}

/**
 * API Gateway v1 and v2 share the signing name `apigateway`; v2 paths start with /v2/.
 * DynamoDB and DynamoDB Streams share `dynamodb`; their X-Amz-Target prefixes differ.
 */
function disambiguate(
  candidates: ServiceInfo[],
  path: string,
  headers: Record<string, string>,
): ServiceInfo {
  const target = headers['x-amz-target'];
  if (target) {
    const prefix = target.slice(0, Math.max(0, target.indexOf('.')));
    const byTarget = candidates.find((c) => c.targetPrefix === prefix);
    if (byTarget) return byTarget;
  }
  if (candidates[0].signingName === 'apigateway') {
    const v2 = path.startsWith('/v2/');
    return candidates.find((c) => (c.name === 'apigatewayv2') === v2) ?? candidates[0];
  }
  return candidates[0];
}
