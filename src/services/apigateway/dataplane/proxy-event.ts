/**
 * The Lambda proxy integration's event (payload format 1.0) and how a proxy response is
 * read back, as REST APIs build and read them.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-output-format
 */
import type { ApiContext } from '../../apigateway-shared/context-vars.js';

export interface IncomingRequest {
  method: string;
  /** The path after the stage, decoded (`/items/1`). */
  path: string;
  /** Header names as the client sent them, each with its values. */
  headers: [string, string[]][];
  /** Query parameters in order, decoded, each with its values. */
  query: [string, string[]][];
  body: Buffer;
  /** Whether the body goes to the integration base64-encoded (a binary media type). */
  binary: boolean;
}

export interface ProxyEventInput {
  request: IncomingRequest;
  resourcePath: string;
  pathParameters: Record<string, string>;
  stageVariables: Record<string, string>;
  context: ApiContext;
  resourceId: string;
  authorizer?: Record<string, string | number | boolean>;
}

const orNull = <V>(o: Record<string, V>): Record<string, V> | null =>
  Object.keys(o).length === 0 ? null : o;

export function proxyEvent(e: ProxyEventInput): Record<string, unknown> {
  const { request: r, context: c } = e;
  const headers: Record<string, string> = {};
  const multiHeaders: Record<string, string[]> = {};
  for (const [k, vs] of r.headers) {
    headers[k] = vs[vs.length - 1] ?? '';
    multiHeaders[k] = vs;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, vs] of r.query) {
    query[k] = vs[vs.length - 1] ?? '';
    multiQuery[k] = vs;
  }
  const identity = c.identity;
  return {
    resource: e.resourcePath,
    path: r.path,
    httpMethod: r.method,
    headers: orNull(headers),
    multiValueHeaders: orNull(multiHeaders),
    queryStringParameters: orNull(query),
    multiValueQueryStringParameters: orNull(multiQuery),
    pathParameters: orNull(e.pathParameters),
    stageVariables: orNull(e.stageVariables),
    requestContext: {
      resourceId: e.resourceId,
      resourcePath: e.resourcePath,
      httpMethod: r.method,
      extendedRequestId: c.extendedRequestId,
      requestTime: c.requestTime,
      path: c.path,
      accountId: c.accountId,
      protocol: c.protocol,
      stage: c.stage,
      domainPrefix: c.domainPrefix,
      requestTimeEpoch: c.requestTimeEpoch,
      requestId: c.requestId,
      identity: {
        cognitoIdentityPoolId: null,
        accountId: identity.accountId ?? null,
        cognitoIdentityId: null,
        caller: identity.caller ?? null,
        sourceIp: identity.sourceIp,
        principalOrgId: null,
        accessKey: identity.accessKey ?? null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: identity.userArn ?? null,
        userAgent: identity.userAgent ?? null,
        user: identity.user ?? null,
        ...(identity.apiKey !== undefined && { apiKey: identity.apiKey }),
        ...(identity.apiKeyId !== undefined && { apiKeyId: identity.apiKeyId }),
      },
      domainName: c.domainName,
      apiId: c.apiId,
      ...(e.authorizer && { authorizer: e.authorizer }),
    },
    body: r.body.length === 0 ? null : r.body.toString(r.binary ? 'base64' : 'utf8'),
    isBase64Encoded: r.binary,
  };
}

export interface ProxyResponse {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

/**
 * The function's answer as HTTP; undefined when it is not a proxy response ("Malformed
 * Lambda proxy response": AWS's 502). `statusCode` may be a number or a numeric string;
 * `headers` and `multiValueHeaders` merge; `body` must be a string when present.
 */
export function readProxyResponse(payload: Buffer): ProxyResponse | undefined {
  let out: unknown;
  try {
    out = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof out !== 'object' || out === null || Array.isArray(out)) return undefined;
  const o = out as Record<string, unknown>;
  const allowed = new Set([
    'statusCode',
    'headers',
    'multiValueHeaders',
    'body',
    'isBase64Encoded',
    'cookies',
  ]);
  if (Object.keys(o).some((k) => !allowed.has(k))) return undefined;
  const status = Number(o.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return undefined;
  if (o.body !== undefined && o.body !== null && typeof o.body !== 'string') return undefined;
  const headers: [string, string][] = [];
  const seen = new Set<string>();
  if (o.multiValueHeaders !== undefined && o.multiValueHeaders !== null) {
    if (typeof o.multiValueHeaders !== 'object') return undefined;
    for (const [k, vs] of Object.entries(o.multiValueHeaders as Record<string, unknown>)) {
      if (!Array.isArray(vs)) return undefined;
      for (const v of vs) headers.push([k, String(v)]);
      seen.add(k.toLowerCase());
    }
  }
  if (o.headers !== undefined && o.headers !== null) {
    if (typeof o.headers !== 'object') return undefined;
    for (const [k, v] of Object.entries(o.headers as Record<string, unknown>)) {
      if (!seen.has(k.toLowerCase())) headers.push([k, String(v)]);
    }
  }
  const text = typeof o.body === 'string' ? o.body : '';
  const body = o.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { status, headers, body };
}
