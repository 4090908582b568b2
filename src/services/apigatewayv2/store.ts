/**
 * API Gateway v2's tables. API ids are unique across accounts and regions (they name the
 * invoke host `<api-id>.execute-api…`), so APIs are keyed by id alone and carry their
 * account and region; every other resource is keyed `<api-id>/<id>` and goes with its API.
 */
import type {
  AccessLogSettings,
  AuthorizationType,
  AuthorizerType,
  ConnectionType,
  ContentHandlingStrategy,
  Cors,
  IntegrationType,
  PassthroughBehavior,
  ProtocolType,
  RouteSettings,
} from '../../api/apigatewayv2/types.js';
import type { MetadataOps } from '../../storage/types.js';

export const APIS = 'apigwv2_apis';
export const ROUTES = 'apigwv2_routes';
/** Keyed `<api-id>/<route-id>/<route-response-id>`. */
export const ROUTE_RESPONSES = 'apigwv2_route_responses';
export const INTEGRATIONS = 'apigwv2_integrations';
/** Keyed `<api-id>/<integration-id>/<integration-response-id>`. */
export const INTEGRATION_RESPONSES = 'apigwv2_integration_responses';
export const AUTHORIZERS = 'apigwv2_authorizers';
/** Keyed `<api-id>/<stage-name>`. */
export const STAGES = 'apigwv2_stages';
export const DEPLOYMENTS = 'apigwv2_deployments';
/** What a deployment froze, keyed like its deployment (read by the data plane only). */
export const SNAPSHOTS = 'apigwv2_snapshots';

/** Tables whose rows belong to one API (deleted with it). */
export const API_CHILD_TABLES = [
  ROUTES,
  ROUTE_RESPONSES,
  INTEGRATIONS,
  INTEGRATION_RESPONSES,
  AUTHORIZERS,
  STAGES,
  DEPLOYMENTS,
  SNAPSHOTS,
] as const;

export const childKey = (apiId: string, id: string): string => `${apiId}/${id}`;
export const childPrefix = (apiId: string): string => `${apiId}/`;

export interface ApiRecord {
  apiId: string;
  account: string;
  region: string;
  name: string;
  protocolType: ProtocolType;
  routeSelectionExpression: string;
  apiKeySelectionExpression: string;
  description?: string;
  version?: string;
  cors?: Cors;
  disableExecuteApiEndpoint: boolean;
  disableSchemaValidation?: boolean;
  ipAddressType: 'ipv4' | 'dualstack';
  createdDate: number;
  tags: Record<string, string>;
}

export interface RouteRecord {
  routeId: string;
  routeKey: string;
  target?: string;
  authorizationType: AuthorizationType;
  authorizerId?: string;
  authorizationScopes?: string[];
  apiKeyRequired: boolean;
  operationName?: string;
  modelSelectionExpression?: string;
  requestModels?: Record<string, string>;
  requestParameters?: Record<string, { Required?: boolean }>;
  routeResponseSelectionExpression?: string;
}

export interface RouteResponseRecord {
  routeResponseId: string;
  routeResponseKey: string;
  modelSelectionExpression?: string;
  responseModels?: Record<string, string>;
  responseParameters?: Record<string, { Required?: boolean }>;
}

export interface IntegrationRecord {
  integrationId: string;
  integrationType: IntegrationType;
  integrationUri?: string;
  integrationMethod?: string;
  integrationSubtype?: string;
  payloadFormatVersion: string;
  timeoutInMillis: number;
  connectionType: ConnectionType;
  connectionId?: string;
  contentHandlingStrategy?: ContentHandlingStrategy;
  credentialsArn?: string;
  description?: string;
  passthroughBehavior?: PassthroughBehavior;
  requestParameters?: Record<string, string>;
  requestTemplates?: Record<string, string>;
  responseParameters?: Record<string, Record<string, string>>;
  templateSelectionExpression?: string;
  tlsConfig?: { ServerNameToVerify?: string };
}

export interface IntegrationResponseRecord {
  integrationResponseId: string;
  integrationResponseKey: string;
  contentHandlingStrategy?: ContentHandlingStrategy;
  responseParameters?: Record<string, string>;
  responseTemplates?: Record<string, string>;
  templateSelectionExpression?: string;
}

export interface AuthorizerRecord {
  authorizerId: string;
  name: string;
  authorizerType: AuthorizerType;
  identitySource: string[];
  authorizerUri?: string;
  authorizerCredentialsArn?: string;
  authorizerPayloadFormatVersion?: string;
  authorizerResultTtlInSeconds: number;
  enableSimpleResponses?: boolean;
  identityValidationExpression?: string;
  jwtConfiguration?: { Audience?: string[]; Issuer?: string };
}

export interface StageRecord {
  stageName: string;
  autoDeploy: boolean;
  deploymentId?: string;
  description?: string;
  stageVariables: Record<string, string>;
  defaultRouteSettings: RouteSettings;
  routeSettings: Record<string, RouteSettings>;
  accessLogSettings?: AccessLogSettings;
  clientCertificateId?: string;
  lastDeploymentStatusMessage?: string;
  createdDate: number;
  lastUpdatedDate: number;
  tags: Record<string, string>;
}

export interface DeploymentRecord {
  deploymentId: string;
  autoDeployed: boolean;
  description?: string;
  createdDate: number;
}

/** What one deployment serves: the API's routes, integrations and authorizers as they were. */
export interface Snapshot {
  protocolType: ProtocolType;
  routeSelectionExpression: string;
  cors?: Cors;
  routes: RouteRecord[];
  routeResponses: Record<string, RouteResponseRecord[]>;
  integrations: Record<string, IntegrationRecord>;
  authorizers: Record<string, AuthorizerRecord>;
}

/** Freezes the API's current configuration (for a deployment). */
export async function takeSnapshot(tx: MetadataOps, api: ApiRecord): Promise<Snapshot> {
  const prefix = childPrefix(api.apiId);
  const [routes, responses, integrations, authorizers] = await Promise.all([
    tx.list<RouteRecord>(ROUTES, { prefix }),
    tx.list<RouteResponseRecord>(ROUTE_RESPONSES, { prefix }),
    tx.list<IntegrationRecord>(INTEGRATIONS, { prefix }),
    tx.list<AuthorizerRecord>(AUTHORIZERS, { prefix }),
  ]);
  const routeResponses: Record<string, RouteResponseRecord[]> = {};
  for (const { key, value } of responses) {
    const routeId = key.split('/')[1];
    (routeResponses[routeId] ??= []).push(value);
  }
  return {
    protocolType: api.protocolType,
    routeSelectionExpression: api.routeSelectionExpression,
    cors: api.cors,
    routes: routes.map((r) => r.value),
    routeResponses,
    integrations: Object.fromEntries(integrations.map((i) => [i.value.integrationId, i.value])),
    authorizers: Object.fromEntries(authorizers.map((a) => [a.value.authorizerId, a.value])),
  };
}
