/**
 * Function URL payloads: the request event (payload format 2.0, as API Gateway HTTP APIs
 * send it) and the mapping of the function's answer to the HTTP response.
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
 */
import { clfTime } from '../../apigateway-shared/context-vars.js';
import type { Caller } from '../../plugin.js';

export interface UrlRequest {
  method: string;
  /** Path after the URL id, starting with '/', still percent-encoded. */
  rawPath: string;
  /** Query string without '?'. */
  rawQuery: string;
  /** Raw header pairs as received (node's rawHeaders: name, value, name, value, …). */
  rawHeaders: readonly string[];
  body: Buffer;
  sourceIp: string;
}

export interface UrlEventContext {
  urlId: string;
  /** The function owner's account. */
  account: string;
  requestId: string;
  now: number;
  /** Set for AuthType AWS_IAM: who signed. */
  caller?: Caller;
}

/** `07/Sep/2021:22:50:22 +0000`, the time format of the event's requestContext (API
 *  Gateway's `$context.requestTime`, cached per second). */
export { clfTime };

/** Content types whose bodies are passed as text; anything else is base64-encoded. */
const TEXT_TYPE =
  /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|[\w.+-]*\+(json|xml)))/i;

export function isTextContent(contentType: string | undefined): boolean {
  return contentType !== undefined && TEXT_TYPE.test(contentType.trim());
}

export interface UrlEvent {
  version: '2.0';
  routeKey: '$default';
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: Record<string, unknown>;
  body?: string;
  isBase64Encoded: boolean;
}

export function urlEvent(req: UrlRequest, ctx: UrlEventContext): UrlEvent {
  // Headers: lower-cased, repeated ones joined with ','; cookies move to `cookies`.
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    if (name === 'cookie') {
      cookies ??= [];
      for (const c of value.split(';')) {
        const t = c.trim();
        if (t) cookies.push(t);
      }
      continue;
    }
    const prev = headers[name];
    headers[name] = prev === undefined ? value : `${prev},${value}`;
  }

  let query: Record<string, string> | undefined;
  if (req.rawQuery) {
    query = {};
    for (const [k, v] of new URLSearchParams(req.rawQuery)) {
      const prev = query[k];
      query[k] = prev === undefined ? v : `${prev},${v}`;
    }
  }

  const http = {
    method: req.method,
    path: req.rawPath,
    protocol: 'HTTP/1.1',
    sourceIp: req.sourceIp,
    userAgent: headers['user-agent'] ?? '',
  };
  const requestContext: Record<string, unknown> = {
    accountId: ctx.account,
    apiId: ctx.urlId,
  };
  if (ctx.caller) {
    requestContext.authorizer = {
      iam: {
        accessKey: ctx.caller.accessKeyId,
        accountId: ctx.caller.account,
        callerId: ctx.caller.principal.userId,
        cognitoIdentity: null,
        principalOrgId: null,
        userArn: ctx.caller.principal.arn,
        userId: ctx.caller.principal.userId,
      },
    };
  }
  Object.assign(requestContext, {
    domainName: headers.host ?? '',
    domainPrefix: ctx.urlId,
    http,
    requestId: ctx.requestId,
    routeKey: '$default',
    stage: '$default',
    time: clfTime(ctx.now),
    timeEpoch: ctx.now,
  });

  const event: UrlEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath: req.rawPath,
    rawQueryString: req.rawQuery,
    headers,
    requestContext,
    isBase64Encoded: false,
  };
  if (cookies) event.cookies = cookies;
  if (query) event.queryStringParameters = query;
  if (req.body.length > 0) {
    if (isTextContent(headers['content-type'])) {
      event.body = req.body.toString('utf8');
    } else {
      event.body = req.body.toString('base64');
      event.isBase64Encoded = true;
    }
  }
  return event;
}

export interface UrlResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** awslambda.HttpResponseStream writes a JSON prelude, then 8 NUL bytes, then the body. */
const PRELUDE_END = Buffer.alloc(8);

/**
 * Maps the function's answer: an object with `statusCode` is a response description
 * (statusCode, headers, cookies, body, isBase64Encoded); anything else is "inferred":
 * status 200, content-type application/json, the answer itself as the body.
 */
export function urlResponse(payload: Buffer, streamed: boolean): UrlResponse {
  if (streamed) {
    const prelude = streamedPrelude(payload);
    if (prelude) return prelude;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (!isRecord(parsed) || parsed.statusCode === undefined) {
    return { status: 200, headers: { 'content-type': 'application/json' }, body: payload };
  }
  return described(parsed);
}

function described(r: Record<string, unknown>): UrlResponse {
  const status = Number(r.statusCode);
  const headers: Record<string, string | string[]> = {};
  let hasType = false;
  if (isRecord(r.headers)) {
    for (const [k, v] of Object.entries(r.headers)) {
      if (v === undefined || v === null) continue;
      const name = k.toLowerCase();
      if (name === 'content-type') hasType = true;
      headers[name] = String(v);
    }
  }
  if (!hasType) headers['content-type'] = 'application/json';
  if (Array.isArray(r.cookies) && r.cookies.length > 0) {
    headers['set-cookie'] = r.cookies.map(String);
  }
  let body: Buffer;
  if (r.body === undefined || r.body === null) body = Buffer.alloc(0);
  else if (typeof r.body === 'string') {
    body = r.isBase64Encoded === true ? Buffer.from(r.body, 'base64') : Buffer.from(r.body);
  } else body = Buffer.from(JSON.stringify(r.body));
  return {
    status: Number.isInteger(status) && status >= 100 && status <= 599 ? status : 500,
    headers,
    body,
  };
}

/** A streamed answer that starts with an HttpResponseStream prelude (JSON + 8 NUL bytes). */
function streamedPrelude(payload: Buffer): UrlResponse | undefined {
  if (payload[0] !== 0x7b) return undefined;
  const end = payload.indexOf(PRELUDE_END);
  if (end < 0) return undefined;
  let prelude: unknown;
  try {
    prelude = JSON.parse(payload.subarray(0, end).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(prelude)) return undefined;
  const out = described({ ...prelude, body: undefined });
  out.body = payload.subarray(end + PRELUDE_END.length);
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
