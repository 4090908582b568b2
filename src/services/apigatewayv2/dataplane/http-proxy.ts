/**
 * HTTP proxy integrations: the request goes to the integration URI as it came (method,
 * headers, body, query string), path variables filled in (`https://example.com/{proxy}`),
 * and the backend's response comes back as it is.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-http.html
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { IntegrationRecord } from '../store.js';
import type { HttpAnswer } from './payloads.js';
import type { ApiRequest } from './request.js';
import { NOT_COPIED } from '../../../shared/hop-by-hop.js';

export type ProxyOutcome =
  { kind: 'ok'; answer: HttpAnswer } | { kind: 'timeout' } | { kind: 'failed'; reason: string };

/** The backend URL: `{name}` placeholders filled from path parameters, the query appended. */
export function backendUrl(
  uri: string,
  pathParameters: Record<string, string>,
  rawQuery: string,
): URL {
  const filled = uri.replace(/\{([\w.-]+)\+?\}/g, (whole, name: string) => {
    const v = pathParameters[name];
    if (v === undefined) return whole;
    return v.split('/').map(encodeURIComponent).join('/');
  });
  const url = new URL(filled);
  if (rawQuery) url.search = url.search ? `${url.search}&${rawQuery}` : rawQuery;
  return url;
}

export function proxyHttp(
  integration: IntegrationRecord,
  req: ApiRequest,
  pathParameters: Record<string, string>,
): Promise<ProxyOutcome> {
  let url: URL;
  try {
    url = backendUrl(integration.integrationUri ?? '', pathParameters, req.rawQuery);
  } catch {
    return Promise.resolve({ kind: 'failed', reason: 'invalid integration URI' });
  }
  const method =
    integration.integrationMethod && integration.integrationMethod !== 'ANY'
      ? integration.integrationMethod
      : req.method;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!NOT_COPIED.has(name)) headers[name] = value;
  }
  headers['x-forwarded-for'] = req.headers['x-forwarded-for']
    ? `${req.headers['x-forwarded-for']}, ${req.sourceIp}`
    : req.sourceIp;
  headers['content-length'] = String(req.body.length);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const out = send(url, { method, headers, timeout: integration.timeoutInMillis }, (res) => {
      collect(res).then(
        (body) => resolve({ kind: 'ok', answer: answerOf(res, body) }),
        (err: Error) => resolve({ kind: 'failed', reason: err.message }),
      );
    });
    out.on('timeout', () => {
      out.destroy();
      resolve({ kind: 'timeout' });
    });
    out.on('error', (err) => resolve({ kind: 'failed', reason: err.message }));
    out.end(req.body);
  });
}

function collect(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
  });
}

function answerOf(res: IncomingMessage, body: Buffer): HttpAnswer {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined || NOT_COPIED.has(name)) continue;
    headers[name] = value;
  }
  return { status: res.statusCode ?? 502, headers, body };
}
