/**
 * Lambda proxy payloads of HTTP APIs: the event in format 2.0 and 1.0 as AWS builds it, and
 * the function's answer mapped to the HTTP response (2.0 infers a response from any JSON;
 * 1.0 insists on a statusCode).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
import { clfTime } from '../../apigateway-shared/context-vars.js';
import { isTextContent, readQuery, type ApiRequest } from './request.js';

export interface EventContext {
  account: string;
  apiId: string;
  stage: string;
  routeKey: string;
  /** The route key's path pattern (`/items/{id}`), for 1.0's `resource`. */
  resource: string;
  pathParameters?: Record<string, string>;
  stageVariables?: Record<string, string>;
  /** requestContext.authorizer as the authorizer left it (jwt, lambda), if any. */
  authorizer?: Record<string, unknown>;
}

function body(req: ApiRequest): { body?: string; isBase64Encoded: boolean } {
  if (req.body.length === 0) return { isBase64Encoded: false };
  return isTextContent(req.headers['content-type'])
    ? { body: req.body.toString('utf8'), isBase64Encoded: false }
    : { body: req.body.toString('base64'), isBase64Encoded: true };
}

const domainPrefix = (domain: string) => domain.split('.')[0] ?? domain;

/** The 2.0 event: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html#http-api-develop-integrations-lambda.proxy-format */
export function event20(req: ApiRequest, ctx: EventContext): Record<string, unknown> {
  const headers = { ...req.headers };
  delete headers.cookie;
  const query = readQuery(req.rawQuery).single;
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey: ctx.routeKey,
    rawPath: req.rawPath,
    rawQueryString: req.rawQuery,
  };
  if (req.cookies.length > 0) event.cookies = req.cookies;
  event.headers = headers;
  if (query) event.queryStringParameters = query;
  event.requestContext = {
    accountId: ctx.account,
    apiId: ctx.apiId,
    ...(ctx.authorizer && { authorizer: ctx.authorizer }),
    domainName: req.domainName,
    domainPrefix: domainPrefix(req.domainName),
    http: {
      method: req.method,
      path: req.rawPath,
      protocol: 'HTTP/1.1',
      sourceIp: req.sourceIp,
      userAgent: req.headers['user-agent'] ?? '',
    },
    requestId: req.requestId,
    routeKey: ctx.routeKey,
    stage: ctx.stage,
    time: clfTime(req.now),
    timeEpoch: req.now,
  };
  const b = body(req);
  if (b.body !== undefined) event.body = b.body;
  if (ctx.pathParameters && Object.keys(ctx.pathParameters).length > 0) {
    event.pathParameters = ctx.pathParameters;
  }
  event.isBase64Encoded = b.isBase64Encoded;
  if (ctx.stageVariables && Object.keys(ctx.stageVariables).length > 0) {
    event.stageVariables = ctx.stageVariables;
  }
  return event;
}

/** The 1.0 event: the REST API proxy shape, with `version: '1.0'`. */
export function event10(req: ApiRequest, ctx: EventContext): Record<string, unknown> {
  const query = readQuery(req.rawQuery);
  const b = body(req);
  const params = ctx.pathParameters && Object.keys(ctx.pathParameters).length > 0;
  const vars = ctx.stageVariables && Object.keys(ctx.stageVariables).length > 0;
  return {
    version: '1.0',
    resource: ctx.resource,
    path: req.rawPath,
    httpMethod: req.method,
    headers: req.headers,
    multiValueHeaders: req.multiHeaders,
    queryStringParameters: query.single ?? null,
    multiValueQueryStringParameters: query.multi ?? null,
    requestContext: {
      accountId: ctx.account,
      apiId: ctx.apiId,
      authorizer: ctx.authorizer ?? null,
      domainName: req.domainName,
      domainPrefix: domainPrefix(req.domainName),
      extendedRequestId: req.requestId,
      httpMethod: req.method,
      identity: {
        accessKey: null,
        accountId: null,
        caller: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.sourceIp,
        user: null,
        userAgent: req.headers['user-agent'] ?? '',
        userArn: null,
      },
      path: req.rawPath,
      protocol: 'HTTP/1.1',
      requestId: req.requestId,
      requestTime: clfTime(req.now),
      requestTimeEpoch: req.now,
      resourceId: ctx.routeKey,
      resourcePath: ctx.resource,
      stage: ctx.stage,
    },
    pathParameters: params ? ctx.pathParameters : null,
    stageVariables: vars ? ctx.stageVariables : null,
    body: b.body ?? null,
    isBase64Encoded: b.isBase64Encoded,
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parse(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Format 2.0: "If your Lambda function returns valid JSON and doesn't return a statusCode,
 * API Gateway assumes: isBase64Encoded is false, statusCode is 200, content-type is
 * application/json, body is the function's response." Undefined when the answer is not
 * valid JSON (API Gateway answers 500 then).
 */
export function response20(payload: Buffer): HttpAnswer | undefined {
  const parsed = parse(payload);
  if (parsed === undefined) return undefined;
  if (!isRecord(parsed) || parsed.statusCode === undefined) {
    return { status: 200, headers: { 'content-type': 'application/json' }, body: payload };
  }
  return described(parsed, true);
}

/** Format 1.0: the answer must describe the response; anything else is a 500. */
export function response10(payload: Buffer): HttpAnswer | undefined {
  const parsed = parse(payload);
  if (!isRecord(parsed) || parsed.statusCode === undefined) return undefined;
  return described(parsed, false);
}

function described(r: Record<string, unknown>, v2: boolean): HttpAnswer | undefined {
  const status = Number(r.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599) return undefined;
  const headers: Record<string, string | string[]> = {};
  if (!v2 && isRecord(r.multiValueHeaders)) {
    for (const [k, v] of Object.entries(r.multiValueHeaders)) {
      if (Array.isArray(v)) headers[k.toLowerCase()] = v.map(String);
    }
  }
  if (isRecord(r.headers)) {
    for (const [k, v] of Object.entries(r.headers)) {
      if (v === undefined || v === null) continue;
      headers[k.toLowerCase()] = String(v);
    }
  }
  if (v2 && Array.isArray(r.cookies) && r.cookies.length > 0) {
    headers['set-cookie'] = r.cookies.map(String);
  }
  let body: Buffer;
  if (r.body === undefined || r.body === null) body = Buffer.alloc(0);
  else if (typeof r.body === 'string') {
    body = r.isBase64Encoded === true ? Buffer.from(r.body, 'base64') : Buffer.from(r.body);
  } else body = Buffer.from(JSON.stringify(r.body));
  if (headers['content-type'] === undefined && body.length > 0) {
    headers['content-type'] = v2 ? 'text/plain; charset=utf-8' : 'application/json';
  }
  return { status, headers, body };
}
