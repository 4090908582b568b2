/**
 * Integrations: where a matched method's request goes and how the answer comes back.
 *  - AWS_PROXY: the Lambda proxy event (proxy-event.ts), its answer as HTTP.
 *  - HTTP_PROXY: the request as it came, to the URI (`{param}` filled in); the answer as is.
 *  - HTTP, AWS (Lambda) and MOCK: the request mapped by a mapping template chosen by
 *    Content-Type and the passthrough behaviour; the answer mapped by the integration
 *    response whose selection pattern matches (the HTTP status for HTTP, the Lambda
 *    errorMessage for AWS, the statusCode a MOCK template produced), else the default one.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-integration-settings.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
 */
import type {
  GatewayResponseType,
  Integration,
  IntegrationResponse,
} from '../../../api/apigateway/types.js';
import type { ApiContext } from '../../apigateway-shared/context-vars.js';
import type { ApiLambdaInvoker, ApiLambdaOutcome } from '../../apigateway-shared/lambda.js';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { proxyEvent, readProxyResponse, type IncomingRequest } from './proxy-event.js';
import { renderTemplate, type TemplateParams } from './vtl.js';
import { NOT_COPIED } from '../../../shared/hop-by-hop.js';

export interface IntegrationCall {
  integration: Integration;
  request: IncomingRequest;
  resourcePath: string;
  resourceId: string;
  pathParameters: Record<string, string>;
  stageVariables: Record<string, string>;
  context: ApiContext;
  params: TemplateParams;
  authorizer?: Record<string, string | number | boolean>;
  account: string;
  region: string;
  /** The execute-api ARN Lambda's permission is checked against. */
  sourceArn: string;
  /** Response media types that go out as binary (the API's binaryMediaTypes). */
  isBinary: (contentType: string | undefined) => boolean;
  /** One execution log line (for the stage's execution log, and tests). */
  log: (line: string) => void;
}

export type IntegrationResult =
  | { kind: 'response'; status: number; headers: [string, string][]; body: Buffer }
  | { kind: 'error'; type: GatewayResponseType; status: number; message: string };

const internal = (status = 500): IntegrationResult => ({
  kind: 'error',
  type: status === 504 ? 'INTEGRATION_TIMEOUT' : 'API_CONFIGURATION_ERROR',
  status,
  message: status === 504 ? 'Endpoint request timed out' : 'Internal server error',
});

const badGateway = (): IntegrationResult => ({
  kind: 'error',
  type: 'DEFAULT_5XX',
  status: 502,
  message: 'Internal server error',
});

export class Integrations {
  constructor(private readonly lambda: ApiLambdaInvoker) {}

  async call(c: IntegrationCall): Promise<IntegrationResult> {
    const i = c.integration;
    switch (i.type) {
      case 'AWS_PROXY':
        return this.lambdaProxy(c);
      case 'HTTP_PROXY':
        return this.httpProxy(c);
      case 'MOCK':
        return this.mock(c);
      case 'HTTP':
        return this.http(c);
      case 'AWS':
        return this.awsLambda(c);
      default:
        c.log(
          `Execution failed due to configuration error: unsupported integration type ${String(i.type)}`,
        );
        return internal();
    }
  }

  private async invoke(c: IntegrationCall, payload: Buffer): Promise<ApiLambdaOutcome> {
    return this.lambda.invoke({
      account: c.account,
      region: c.region,
      uri: c.integration.uri ?? '',
      sourceArn: c.sourceArn,
      payload,
      timeoutMs: c.integration.timeoutInMillis,
    });
  }

  private async lambdaProxy(c: IntegrationCall): Promise<IntegrationResult> {
    const event = proxyEvent({
      request: c.request,
      resourcePath: c.resourcePath,
      pathParameters: c.pathParameters,
      stageVariables: c.stageVariables,
      context: c.context,
      resourceId: c.resourceId,
      ...(c.authorizer && { authorizer: c.authorizer }),
    });
    const out = await this.invoke(c, Buffer.from(JSON.stringify(event)));
    if (out.kind === 'timeout' || out.kind === 'failed') {
      c.log(out.log);
      return internal(out.kind === 'timeout' ? 504 : 500);
    }
    if (out.kind === 'function-error') {
      c.log(
        `Lambda execution failed with status 200 due to customer function error: ${out.payload.toString('utf8')}`,
      );
      return badGateway();
    }
    const r = readProxyResponse(out.payload);
    if (!r) {
      c.log('Execution failed due to configuration error: Malformed Lambda proxy response');
      return badGateway();
    }
    // REST APIs answer application/json when the function names no content type.
    if (!r.headers.some(([k]) => k.toLowerCase() === 'content-type')) {
      r.headers.push(['Content-Type', 'application/json']);
    }
    return { kind: 'response', ...r };
  }

  private async httpProxy(c: IntegrationCall): Promise<IntegrationResult> {
    const url = this.targetUrl(c, true);
    const headers: [string, string][] = [];
    for (const [k, vs] of c.request.headers) {
      if (NOT_COPIED.has(k.toLowerCase())) continue;
      for (const v of vs) headers.push([k, v]);
    }
    return this.fetch(
      c,
      url,
      c.integration.httpMethod === 'ANY'
        ? c.request.method
        : (c.integration.httpMethod ?? c.request.method),
      headers,
      c.request.body,
      (res) => res,
    );
  }

  private async http(c: IntegrationCall): Promise<IntegrationResult> {
    const mapped = this.mapRequest(c);
    if (mapped.kind === 'error') return mapped;
    const url = this.targetUrl(c, false);
    const headers = this.mappedHeaders(c);
    headers.push([
      'content-type',
      c.integration.requestTemplates && mapped.templated
        ? 'application/json'
        : (header(c.request, 'content-type') ?? 'application/json'),
    ]);
    return this.fetch(
      c,
      url,
      c.integration.httpMethod ?? c.request.method,
      headers,
      mapped.body,
      (res) => this.mapResponse(c, String(res.status), res.body, res.headers),
    );
  }

  private mock(c: IntegrationCall): IntegrationResult {
    const mapped = this.mapRequest(c);
    if (mapped.kind === 'error') return mapped;
    let status = '200';
    if (mapped.templated) {
      try {
        const parsed = JSON.parse(mapped.body.toString('utf8')) as { statusCode?: unknown };
        if (parsed.statusCode !== undefined) status = String(parsed.statusCode);
      } catch {
        // AWS answers a MOCK template that is not JSON with its default (200).
      }
    }
    return this.mapResponse(c, status, Buffer.alloc(0), []);
  }

  private async awsLambda(c: IntegrationCall): Promise<IntegrationResult> {
    if (!/:lambda:path\//.test(c.integration.uri ?? '')) {
      c.log(
        `Execution failed due to configuration error: AWS service integrations other than Lambda are not supported (${c.integration.uri ?? ''})`,
      );
      return internal();
    }
    const mapped = this.mapRequest(c);
    if (mapped.kind === 'error') return mapped;
    const out = await this.invoke(c, mapped.body.length === 0 ? Buffer.from('{}') : mapped.body);
    if (out.kind === 'timeout' || out.kind === 'failed') {
      c.log(out.log);
      return internal(out.kind === 'timeout' ? 504 : 500);
    }
    // An error's errorMessage selects the integration response; a success the default one.
    let selector = '';
    if (out.kind === 'function-error') {
      try {
        const err = JSON.parse(out.payload.toString('utf8')) as { errorMessage?: unknown };
        selector = typeof err.errorMessage === 'string' ? err.errorMessage : '';
      } catch {
        selector = out.payload.toString('utf8');
      }
    }
    return this.mapResponse(c, selector, out.payload, []);
  }

  /** The request body after the mapping template chosen by Content-Type, or AWS's 415. */
  private mapRequest(
    c: IntegrationCall,
  ):
    { kind: 'mapped'; body: Buffer; templated: boolean } | (IntegrationResult & { kind: 'error' }) {
    const templates = c.integration.requestTemplates ?? {};
    const names = Object.keys(templates);
    const type =
      (header(c.request, 'content-type') ?? 'application/json')
        .split(';')[0]
        ?.trim()
        .toLowerCase() ?? '';
    const chosen = names.find((n) => n.toLowerCase() === type);
    const behaviour = c.integration.passthroughBehavior ?? 'WHEN_NO_MATCH';
    if (chosen === undefined) {
      const passthrough =
        behaviour === 'WHEN_NO_MATCH' || (behaviour === 'WHEN_NO_TEMPLATES' && names.length === 0);
      if (!passthrough) {
        return {
          kind: 'error',
          type: 'UNSUPPORTED_MEDIA_TYPE',
          status: 415,
          message: 'Unsupported Media Type',
        };
      }
      // MOCK without a template still answers (its default is statusCode 200).
      return { kind: 'mapped', body: c.request.body, templated: false };
    }
    const text = renderTemplate(templates[chosen] ?? '', {
      body: c.request.body.toString('utf8'),
      params: c.params,
      context: c.context,
      stageVariables: c.stageVariables,
    });
    return { kind: 'mapped', body: Buffer.from(text, 'utf8'), templated: true };
  }

  /**
   * Picks the integration response (selection pattern against `selector`, else the
   * default one) and maps status, headers and body through it.
   */
  private mapResponse(
    c: IntegrationCall,
    selector: string,
    body: Buffer,
    integrationHeaders: [string, string][],
  ): IntegrationResult {
    const responses = Object.values(c.integration.integrationResponses ?? {});
    const chosen = selectResponse(responses, selector);
    if (!chosen) {
      c.log(
        'Execution failed due to configuration error: No match for output mapping and no default output mapping configured. Endpoint Response Status Code: ' +
          (selector || '200'),
      );
      return internal();
    }
    const headers: [string, string][] = [];
    for (const [name, expr] of Object.entries(chosen.responseParameters ?? {})) {
      const m = /^method\.response\.header\.(.+)$/.exec(name);
      if (!m?.[1]) continue;
      const v = responseValue(expr, integrationHeaders, body, c.stageVariables);
      if (v !== undefined) headers.push([m[1], v]);
    }
    const templates = chosen.responseTemplates ?? {};
    const accept = (header(c.request, 'accept') ?? '')
      .split(',')
      .map((s) => s.split(';')[0]?.trim().toLowerCase());
    const type =
      Object.keys(templates).find((t) => accept.includes(t.toLowerCase())) ??
      (templates['application/json'] !== undefined
        ? 'application/json'
        : Object.keys(templates)[0]);
    let out = body;
    let contentType = 'application/json';
    const template = type === undefined ? undefined : templates[type];
    if (type !== undefined && template !== undefined && template !== '') {
      contentType = type;
      c.context.responseOverride = { status: undefined, header: {} };
      out = Buffer.from(
        renderTemplate(template, {
          body: body.toString('utf8'),
          params: c.params,
          context: c.context,
          stageVariables: c.stageVariables,
        }),
        'utf8',
      );
    } else if (type !== undefined) {
      contentType = type;
    }
    let status = Number(chosen.statusCode ?? '200');
    const override = c.context.responseOverride;
    if (typeof override === 'object' && override !== null) {
      if (override.status !== undefined && Number.isInteger(Number(override.status)))
        status = Number(override.status);
      const h = override.header;
      if (typeof h === 'object' && h !== null)
        for (const [k, v] of Object.entries(h)) headers.push([k, String(v)]);
    }
    if (!headers.some(([k]) => k.toLowerCase() === 'content-type'))
      headers.push(['Content-Type', contentType]);
    return { kind: 'response', status, headers, body: out };
  }

  private targetUrl(c: IntegrationCall, withQuery: boolean): string {
    let uri = (c.integration.uri ?? '').replace(
      /\$\{stageVariables\.([A-Za-z0-9_]+)\}/g,
      (_w, n: string) => c.stageVariables[n] ?? '',
    );
    const pathValues: Record<string, string> = { ...c.pathParameters };
    for (const [target, source] of Object.entries(c.integration.requestParameters ?? {})) {
      const m = /^integration\.request\.path\.(.+)$/.exec(target);
      if (m?.[1]) {
        const v = requestValue(source, c);
        if (v !== undefined) pathValues[m[1]] = v;
      }
    }
    uri = uri.replace(/\{([^}]+?)\+?\}/g, (w, n: string) => {
      const v = pathValues[n];
      if (v === undefined) return w;
      return n === 'proxy' || w.endsWith('+}')
        ? v.split('/').map(encodeURIComponent).join('/')
        : encodeURIComponent(v);
    });
    const q = new URLSearchParams();
    if (withQuery) for (const [k, vs] of c.request.query) for (const v of vs) q.append(k, v);
    for (const [target, source] of Object.entries(c.integration.requestParameters ?? {})) {
      const m = /^integration\.request\.querystring\.(.+)$/.exec(target);
      if (m?.[1]) {
        const v = requestValue(source, c);
        if (v !== undefined) q.set(m[1], v);
      }
    }
    const qs = q.toString();
    return qs === '' ? uri : `${uri}${uri.includes('?') ? '&' : '?'}${qs}`;
  }

  private mappedHeaders(c: IntegrationCall): [string, string][] {
    const out: [string, string][] = [];
    for (const [target, source] of Object.entries(c.integration.requestParameters ?? {})) {
      const m = /^integration\.request\.header\.(.+)$/.exec(target);
      if (!m?.[1]) continue;
      const v = requestValue(source, c);
      if (v !== undefined) out.push([m[1], v]);
    }
    return out;
  }

  private async fetch(
    c: IntegrationCall,
    url: string,
    method: string,
    headers: [string, string][],
    body: Buffer,
    then: (res: {
      status: number;
      headers: [string, string][];
      body: Buffer;
    }) => IntegrationResult | { status: number; headers: [string, string][]; body: Buffer },
  ): Promise<IntegrationResult> {
    const timeout = c.integration.timeoutInMillis ?? 29_000;
    let res: HttpAnswer;
    try {
      res = await httpCall(url, method, headers, body, timeout);
    } catch (err) {
      const timedOut = err instanceof TimeoutError;
      c.log(
        timedOut
          ? 'Execution failed due to a timeout error'
          : `Execution failed due to configuration error: ${err instanceof Error ? err.message : String(err)}`,
      );
      return internal(timedOut ? 504 : 500);
    }
    const out = then(res);
    return 'kind' in out ? out : { kind: 'response', ...out };
  }
}

interface HttpAnswer {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

class TimeoutError extends Error {}

/**
 * One HTTP request to an integration endpoint. `*.localhost` names (a load balancer's
 * `<name>.<region>.elb.localhost`, an API's own invoke host) are reached on 127.0.0.1 with
 * the name kept in Host, as browsers and curl resolve them; glibc does not.
 */
function httpCall(
  url: string,
  method: string,
  headers: [string, string][],
  body: Buffer,
  timeoutMs: number,
): Promise<HttpAnswer> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const host = u.host;
  if (u.hostname === 'localhost' || u.hostname.endsWith('.localhost')) u.hostname = '127.0.0.1';
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      {
        method,
        // A header array keeps repeated names apart; Node then adds no Host of its own.
        headers: [['Host', host], ...headers].flatMap(([k, v]) => [k, v]),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const out: [string, string][] = [];
          const raw = res.rawHeaders;
          for (let i = 0; i + 1 < raw.length; i += 2) {
            const k = raw[i] as string;
            if (!NOT_COPIED.has(k.toLowerCase()) && k.toLowerCase() !== 'content-encoding') {
              out.push([k, raw[i + 1] as string]);
            }
          }
          resolve({ status: res.statusCode ?? 502, headers: out, body: Buffer.concat(chunks) });
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new TimeoutError('timeout')), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body.length > 0 && method !== 'GET' && method !== 'HEAD' ? body : undefined);
  });
}

/** A request header's values joined with `,`; `name` lower-cased. */
export function header(r: Pick<IncomingRequest, 'headers'>, name: string): string | undefined {
  for (const [k, vs] of r.headers) if (k.toLowerCase() === name) return vs.join(',');
  return undefined;
}

/** The integration response a selector picks: a matching pattern, else the default. */
export function selectResponse(
  responses: IntegrationResponse[],
  selector: string,
): IntegrationResponse | undefined {
  for (const r of responses) {
    const p = r.selectionPattern;
    if (p === undefined || p === '') continue;
    // Patterns match the whole string (Java's String.matches), newlines included.
    if (new RegExp(`^(?:${p})$`, 's').test(selector)) return r;
  }
  // "If no selection pattern matches, the default response (no pattern) is used."
  return responses.find((r) => r.selectionPattern === undefined || r.selectionPattern === '');
}

/** `method.request.{path|querystring|header}.x`, `stageVariables.x`, `context.x` or `'literal'`. */
function requestValue(expr: string, c: IntegrationCall): string | undefined {
  if (expr.startsWith("'") && expr.endsWith("'") && expr.length >= 2) return expr.slice(1, -1);
  const m =
    /^method\.request\.(path|querystring|header|multivaluequerystring|multivalueheader)\.(.+)$/.exec(
      expr,
    );
  if (m?.[1] && m[2]) {
    const name = m[2];
    if (m[1] === 'path') return c.pathParameters[name];
    if (m[1] === 'querystring' || m[1] === 'multivaluequerystring') {
      const vs = c.request.query.find(([k]) => k === name)?.[1];
      return vs?.join(',');
    }
    return header(c.request, name.toLowerCase());
  }
  if (expr.startsWith('stageVariables.')) return c.stageVariables[expr.slice(15)];
  if (expr.startsWith('context.')) {
    const v = expr
      .slice(8)
      .split('.')
      .reduce<unknown>(
        (o, k) =>
          typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined,
        c.context,
      );
    return v === undefined || v === null ? undefined : String(v);
  }
  return undefined;
}

/** `integration.response.header.X`, `integration.response.body[.field]`, `'literal'`. */
function responseValue(
  expr: string,
  headers: [string, string][],
  body: Buffer,
  stageVariables: Record<string, string>,
): string | undefined {
  if (expr.startsWith("'") && expr.endsWith("'") && expr.length >= 2) return expr.slice(1, -1);
  const h = /^integration\.response\.header\.(.+)$/.exec(expr);
  if (h?.[1]) {
    const lower = h[1].toLowerCase();
    return headers.find(([k]) => k.toLowerCase() === lower)?.[1];
  }
  if (expr === 'integration.response.body') return body.toString('utf8');
  const b = /^integration\.response\.body\.(.+)$/.exec(expr);
  if (b?.[1]) {
    try {
      const v = b[1]
        .split('.')
        .reduce<unknown>(
          (o, k) =>
            typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined,
          JSON.parse(body.toString('utf8')),
        );
      return v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
    } catch {
      return undefined;
    }
  }
  if (expr.startsWith('stageVariables.')) return stageVariables[expr.slice(15)];
  return undefined;
}
