/**
 * API Gateway REST APIs' tables. A REST API's definition (resources, methods, integrations,
 * models, validators, authorizers, gateway responses) is one document: every change to it
 * is one read-modify-write transaction, and a deployment is a copy of it, which is what
 * AWS serves from a stage (later edits reach callers only after CreateDeployment).
 *
 * Keys: `<account>:<region>:<id>` for scoped rows; an API's children extend its key.
 */
import type {
  AccessLogSettings,
  ApiKeySourceType,
  ApiStage,
  Authorizer,
  CanarySettings,
  EndpointConfiguration,
  GatewayResponse,
  Method,
  MethodSetting,
  Model,
  QuotaSettings,
  RequestValidator,
  ThrottleSettings,
} from '../../api/apigateway/types.js';

export const T = {
  apis: 'apigw_rest_apis',
  /** API id → its account and region (the invoke URL names the id only). */
  apiIds: 'apigw_rest_api_ids',
  deployments: 'apigw_rest_deployments',
  stages: 'apigw_rest_stages',
  apiKeys: 'apigw_api_keys',
  /** `<scope>:<key value>` → key id (values are unique in an account and region). */
  apiKeyValues: 'apigw_api_key_values',
  usagePlans: 'apigw_usage_plans',
  /** `<scope>:<plan id>:<key id>` */
  usagePlanKeys: 'apigw_usage_plan_keys',
  /** `<scope>:<plan id>:<key id>:<yyyy-mm-dd>` → requests that day. */
  usage: 'apigw_usage',
} as const;

export interface Scope {
  account: string;
  region: string;
}

export const scopeKey = (s: Scope): string => `${s.account}:${s.region}`;
export const apiKey = (s: Scope, id: string): string => `${scopeKey(s)}:${id}`;
export const childKey = (s: Scope, apiId: string, id: string): string =>
  `${apiKey(s, apiId)}:${id}`;

export interface ResourceRecord {
  id: string;
  parentId?: string;
  pathPart?: string;
  /** By HTTP method (`GET`, `ANY`, …). */
  methods: Record<string, Method>;
}

/** What a stage serves: the resources and everything their methods refer to. */
export interface ApiDefinition {
  rootResourceId: string;
  resources: Record<string, ResourceRecord>;
  models: Record<string, Model>;
  validators: Record<string, RequestValidator>;
  authorizers: Record<string, Authorizer>;
  /** Customised gateway responses, by type. */
  gatewayResponses: Record<string, GatewayResponse>;
  binaryMediaTypes: string[];
  apiKeySource: ApiKeySourceType;
}

export interface ApiRecord extends ApiDefinition {
  id: string;
  name: string;
  description?: string;
  version?: string;
  createdDate: number;
  minimumCompressionSize?: number;
  endpointConfiguration: EndpointConfiguration;
  policy?: string;
  tags: Record<string, string>;
  disableExecuteApiEndpoint: boolean;
}

export interface DeploymentRecord {
  id: string;
  description?: string;
  createdDate: number;
  definition: ApiDefinition;
}

export interface StageRecord {
  stageName: string;
  deploymentId: string;
  description?: string;
  variables: Record<string, string>;
  methodSettings: Record<string, MethodSetting>;
  accessLogSettings?: AccessLogSettings;
  canarySettings?: CanarySettings;
  cacheClusterEnabled: boolean;
  tracingEnabled: boolean;
  tags: Record<string, string>;
  createdDate: number;
  lastUpdatedDate: number;
}

export interface ApiKeyRecord {
  id: string;
  value: string;
  name?: string;
  customerId?: string;
  description?: string;
  enabled: boolean;
  createdDate: number;
  lastUpdatedDate: number;
  stageKeys: string[];
  tags: Record<string, string>;
}

export interface UsagePlanRecord {
  id: string;
  name: string;
  description?: string;
  apiStages: ApiStage[];
  throttle?: ThrottleSettings;
  quota?: QuotaSettings;
  productCode?: string;
  tags: Record<string, string>;
}

export interface UsagePlanKeyRecord {
  id: string;
  type: 'API_KEY';
}
