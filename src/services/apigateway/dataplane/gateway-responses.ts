/**
 * Gateway responses: what API Gateway itself answers when a request does not reach the
 * integration (or the integration fails), each type with its status and the body
 * `{"message":$context.error.messageString}`, customisable per API (PutGatewayResponse),
 * with DEFAULT_4XX / DEFAULT_5XX customisations applying to the types not customised.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
 */
import type { GatewayResponse, GatewayResponseType } from '../../../api/apigateway/types.js';
import type { ContextGroup } from '../../apigateway-shared/context-vars.js';
import type { ApiDefinition } from '../store.js';
import { renderTemplate, type TemplateParams } from './vtl.js';

export const GATEWAY_RESPONSE_TYPES = [
  'ACCESS_DENIED',
  'API_CONFIGURATION_ERROR',
  'AUTHORIZER_CONFIGURATION_ERROR',
  'AUTHORIZER_FAILURE',
  'BAD_REQUEST_BODY',
  'BAD_REQUEST_PARAMETERS',
  'DEFAULT_4XX',
  'DEFAULT_5XX',
  'EXPIRED_TOKEN',
  'INTEGRATION_FAILURE',
  'INTEGRATION_TIMEOUT',
  'INVALID_API_KEY',
  'INVALID_SIGNATURE',
  'MISSING_AUTHENTICATION_TOKEN',
  'QUOTA_EXCEEDED',
  'REQUEST_TOO_LARGE',
  'RESOURCE_NOT_FOUND',
  'THROTTLED',
  'UNAUTHORIZED',
  'UNSUPPORTED_MEDIA_TYPE',
  'WAF_FILTERED',
] as const satisfies readonly GatewayResponseType[];

/** Each type's status and the `x-amzn-ErrorType` AWS sends with it. */
const DEFAULTS: Record<GatewayResponseType, { status?: number; errorType: string }> = {
  ACCESS_DENIED: { status: 403, errorType: 'AccessDeniedException' },
  API_CONFIGURATION_ERROR: { status: 500, errorType: 'InternalServerErrorException' },
  AUTHORIZER_CONFIGURATION_ERROR: { status: 500, errorType: 'AuthorizerConfigurationException' },
  AUTHORIZER_FAILURE: { status: 500, errorType: 'AuthorizerFailureException' },
  BAD_REQUEST_BODY: { status: 400, errorType: 'BadRequestException' },
  BAD_REQUEST_PARAMETERS: { status: 400, errorType: 'BadRequestException' },
  DEFAULT_4XX: { errorType: 'BadRequestException' },
  DEFAULT_5XX: { errorType: 'InternalServerErrorException' },
  EXPIRED_TOKEN: { status: 403, errorType: 'ExpiredTokenException' },
  INTEGRATION_FAILURE: { status: 504, errorType: 'InternalServerErrorException' },
  INTEGRATION_TIMEOUT: { status: 504, errorType: 'InternalServerErrorException' },
  INVALID_API_KEY: { status: 403, errorType: 'ForbiddenException' },
  INVALID_SIGNATURE: { status: 403, errorType: 'InvalidSignatureException' },
  MISSING_AUTHENTICATION_TOKEN: {
    status: 403,
    errorType: 'MissingAuthenticationTokenException',
  },
  QUOTA_EXCEEDED: { status: 429, errorType: 'LimitExceededException' },
  REQUEST_TOO_LARGE: { status: 413, errorType: 'RequestTooLargeException' },
  RESOURCE_NOT_FOUND: { status: 404, errorType: 'ResourceNotFoundException' },
  THROTTLED: { status: 429, errorType: 'TooManyRequestsException' },
  UNAUTHORIZED: { status: 401, errorType: 'UnauthorizedException' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, errorType: 'UnsupportedMediaTypeException' },
  WAF_FILTERED: { status: 403, errorType: 'WAFFilteredException' },
};

const DEFAULT_TEMPLATE = '{"message":$context.error.messageString}';

/** What GetGatewayResponse reports for a type nobody customised. */
export function defaultGatewayResponse(type: GatewayResponseType): GatewayResponse {
  const status = DEFAULTS[type].status;
  return {
    responseType: type,
    ...(status !== undefined && { statusCode: String(status) }),
    responseParameters: {},
    responseTemplates: { 'application/json': DEFAULT_TEMPLATE },
    defaultResponse: true,
  };
}

export interface GatewayReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface GatewayErrorInput {
  type: GatewayResponseType;
  /** The message (`$context.error.message`); null for AWS's `{"message":null}` (authorizer errors). */
  message: string | null;
  /** The status for DEFAULT_4XX / DEFAULT_5XX replies (and types without one). */
  status?: number;
  context: ContextGroup;
  params: TemplateParams;
  stageVariables: Record<string, string>;
  /** REST authorizer denials spell it `Message`; gateway responses keep that. */
  messageKey?: 'message' | 'Message';
}

/** The reply for a gateway error, customised by the API's gateway responses if it has any. */
export function gatewayReply(def: ApiDefinition | undefined, e: GatewayErrorInput): GatewayReply {
  const base = DEFAULTS[e.type];
  let status = e.status ?? base.status ?? 500;
  const family: GatewayResponseType = status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
  const custom = def?.gatewayResponses[e.type] ?? def?.gatewayResponses[family];
  e.context.error = {
    message: e.message ?? '',
    messageString: JSON.stringify(e.message),
    responseType: e.type,
  };
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amzn-errortype': base.errorType,
  };
  let body =
    e.messageKey === 'Message'
      ? `{"Message":${JSON.stringify(e.message)}}`
      : `{"message":${JSON.stringify(e.message)}}`;
  if (custom) {
    if (custom.statusCode !== undefined) status = Number(custom.statusCode) || status;
    for (const [name, expr] of Object.entries(custom.responseParameters ?? {})) {
      const m = /^gatewayresponse\.header\.(.+)$/.exec(name);
      if (!m?.[1]) continue;
      const v = staticOrRequestValue(expr, e);
      if (v !== undefined) headers[m[1].toLowerCase()] = v;
    }
    const template =
      custom.responseTemplates?.['application/json'] ??
      Object.values(custom.responseTemplates ?? {})[0];
    if (template !== undefined) {
      body = renderTemplate(template, {
        body: '',
        params: e.params,
        context: e.context,
        stageVariables: e.stageVariables,
      });
    }
  }
  return { status, headers, body };
}

/** `'literal'`, `method.request.header.X` (…querystring, …path), `stageVariables.x`, `context.x`. */
function staticOrRequestValue(expr: string, e: GatewayErrorInput): string | undefined {
  if (expr.startsWith("'") && expr.endsWith("'") && expr.length >= 2) return expr.slice(1, -1);
  const m = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(expr);
  if (m?.[1] && m[2]) {
    const where = e.params[m[1] as keyof TemplateParams];
    const lower = m[2].toLowerCase();
    for (const [k, v] of Object.entries(where)) {
      if (m[1] === 'header' ? k.toLowerCase() === lower : k === m[2]) return v;
    }
    return undefined;
  }
  if (expr.startsWith('stageVariables.')) return e.stageVariables[expr.slice(15)];
  return undefined;
}
