/**
 * Function URLs: `http://<url-id>.lambda-url.<region>.localhost:<port>/<path>?<query>` (or
 * AWS's `.on.aws` name mapped in /etc/hosts, or the path form
 * `<endpoint>/_stratus/lambda-url/<url-id>/<path>`) runs the function that owns the URL with a payload format 2.0 event and maps its answer to HTTP.
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html
 *  - AuthType AWS_IAM: the request must be SigV4-signed for `lambda` (strict mode verifies
 *    the signature against known credentials; permissive mode accepts any well-formed
 *    one); unsigned or bad → 403 {"Message":"Forbidden"}.
 *  - Cors from the URL configuration: preflights are answered here, and the allowed origin
 *    gets the Access-Control-* headers on every response.
 *  - A function error (error answer, timeout, crash) → 502; throttled → 429.
 *  - InvokeMode RESPONSE_STREAM: a streaming handler's answer goes out as it is written
 *    (url-stream.ts); a failure after the headers went out cuts the connection.
 * Resource policies (lambda:InvokeFunctionUrl) are not evaluated, as elsewhere in Stratus.
 */
import { RequestFacts } from '../../../policy/context.js';
import { rootPrincipal } from '../../../shared/arn.js';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cors } from '../../../api/lambda/types.js';
import { AwsError } from '../../../shared/errors.js';
import type { Caller, DataPlane, RequestAuthenticator } from '../../plugin.js';
import type { FunctionUrlTarget, LambdaFunctions } from '../functions-api.js';
import { FUNCTION_URL_HOSTS, FUNCTION_URL_PREFIX } from '../url-config.js';
import { flatHeaders, readLimitedBody, splitUrl } from './http.js';
import { MAX_SYNC_PAYLOAD_BYTES } from './payload.js';
import type { InvocationRunner } from './runner.js';
import { urlEvent, urlResponse } from './url-event.js';
import { UrlResponseStream } from './url-stream.js';

export interface UrlDataPlaneDeps {
  functions: LambdaFunctions;
  runner: InvocationRunner;
  /** Without it, RESPONSE_STREAM answers are sent once the function finished. */
  signatures: RequestAuthenticator;
  warn: (msg: string, detail?: Record<string, unknown>) => void;
}

const URL_ID = /^[a-z0-9]{32}$/;

export function functionUrlDataPlane(deps: UrlDataPlaneDeps): DataPlane {
  return {
    name: 'lambda-url',
    title: 'Lambda function URLs',
    hosts: FUNCTION_URL_HOSTS,
    paths: [`${FUNCTION_URL_PREFIX}{url-id}/`],
    async handle(req, res, match) {
      const { path, query } = splitUrl(req.url ?? '/');
      let urlId: string;
      let rawPath: string;
      if (match.host) {
        urlId = match.host['url-id'];
        rawPath = path;
      } else {
        const rest = path.slice(FUNCTION_URL_PREFIX.length);
        const slash = rest.indexOf('/');
        urlId = slash < 0 ? rest : rest.slice(0, slash);
        rawPath = slash < 0 ? '/' : rest.slice(slash);
      }
      const found = URL_ID.test(urlId) ? await deps.functions.getFunctionUrl(urlId) : undefined;
      // As on AWS, a URL id only answers under its own region's host name.
      const target = match.host && found?.region !== match.host.region ? undefined : found;
      if (!target) {
        req.resume();
        return message(res, 403, 'Forbidden', {});
      }
      const cors = corsFor(target.cors, req.headers.origin);
      if (target.cors && isPreflight(req)) {
        req.resume();
        res.writeHead(200, { ...cors, ...preflightHeaders(target.cors) }).end();
        return;
      }
      const body = await readLimitedBody(req, MAX_SYNC_PAYLOAD_BYTES);
      if (body === 'too-large') {
        return message(res, 413, 'Request Entity Too Large', cors);
      }

      let caller: Caller | undefined;
      if (target.authType === 'AWS_IAM') {
        const who = await deps.signatures.authenticate(
          { method: req.method ?? 'GET', path, rawQuery: query, headers: flatHeaders(req) },
          body,
          'lambda',
        );
        if (who === undefined || who instanceof AwsError) {
          return message(res, 403, 'Forbidden', cors);
        }
        // "Users must have lambda:InvokeFunctionUrl permission" from an identity-based or the
        // function's resource-based policy; a refusal is the same bare 403.
        const refused = await deps.signatures.authorize(
          {
            principal: who.principal,
            account: who.account,
            region: target.region,
            action: 'lambda:InvokeFunctionUrl',
            resource: target.functionArn,
            sourceIp: req.socket.remoteAddress,
            facts: new RequestFacts([['lambda:FunctionUrlAuthType', 'AWS_IAM']]),
          },
          'rest-json',
        );
        if (refused) return message(res, 403, 'Forbidden', cors);
        caller = who;
      }
      await invoke(deps, target, req, res, { urlId, rawPath, query, body, caller, cors });
    },
  };
}

interface Call {
  urlId: string;
  rawPath: string;
  query: string;
  body: Buffer;
  caller: Caller | undefined;
  cors: Record<string, string>;
}

async function invoke(
  deps: UrlDataPlaneDeps,
  target: FunctionUrlTarget,
  req: IncomingMessage,
  res: ServerResponse,
  call: Call,
): Promise<void> {
  const requestId = randomUUID();
  const event = urlEvent(
    {
      method: req.method ?? 'GET',
      rawPath: call.rawPath,
      rawQuery: call.query,
      rawHeaders: req.rawHeaders,
      body: call.body,
      sourceIp: sourceIp(req),
    },
    { urlId: call.urlId, account: target.account, requestId, now: Date.now(), caller: call.caller },
  );
  const payload = Buffer.from(JSON.stringify(event));
  const common = { ...call.cors, 'x-amzn-requestid': requestId };
  if (payload.length > MAX_SYNC_PAYLOAD_BYTES) {
    return message(res, 413, 'Request Entity Too Large', common);
  }
  const stream =
    target.invokeMode === 'RESPONSE_STREAM'
      ? new UrlResponseStream(res, common, req.method === 'HEAD')
      : undefined;
  try {
    const fn = await deps.functions.resolve(
      { account: target.account, region: target.region, principal: urlPrincipal(target) },
      target.functionName,
      target.qualifier,
    );
    const outcome = await deps.runner.run(fn, {
      requestId,
      payload,
      tailLogs: false,
      source: 'FunctionUrl',
      onChunk: stream?.write,
    });
    if (stream?.end(outcome)) return;
    if (outcome.kind !== 'success') {
      return message(res, 502, 'Internal Server Error', common);
    }
    const answer = urlResponse(outcome.payload, target.invokeMode === 'RESPONSE_STREAM');
    res.writeHead(answer.status, { ...answer.headers, ...common });
    res.end(req.method === 'HEAD' ? undefined : answer.body);
  } catch (err) {
    if (stream?.started) {
      deps.warn('function URL invocation failed mid-stream', { error: String(err) });
      res.destroy();
      return;
    }
    if (err instanceof AwsError && err.status === 429) {
      return message(res, 429, 'Rate Exceeded.', common);
    }
    // The function was deleted (or cannot run) behind its URL.
    if (err instanceof AwsError && err.status < 500) {
      return message(res, 403, 'Forbidden', common);
    }
    deps.warn('function URL invocation failed', { error: String(err) });
    return message(res, 502, 'Internal Server Error', common);
  }
}

function message(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string>,
): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify({ Message: text }));
}

function sourceIp(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

const urlPrincipal = (t: FunctionUrlTarget) => rootPrincipal(t.account);

function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
}

/** Access-Control-* headers for an allowed origin (none when CORS is off or it is not). */
function corsFor(cors: Cors | undefined, origin: string | undefined): Record<string, string> {
  if (!cors || origin === undefined) return {};
  const origins = cors.AllowOrigins ?? [];
  const any = origins.includes('*');
  if (!any && !origins.includes(origin)) return {};
  const out: Record<string, string> = {
    'access-control-allow-origin': any && !cors.AllowCredentials ? '*' : origin,
  };
  if (!any || cors.AllowCredentials) out.vary = 'Origin';
  if (cors.AllowCredentials) out['access-control-allow-credentials'] = 'true';
  if (cors.ExposeHeaders?.length)
    out['access-control-expose-headers'] = cors.ExposeHeaders.join(',');
  return out;
}

function preflightHeaders(cors: Cors): Record<string, string> {
  const out: Record<string, string> = {};
  if (cors.AllowMethods?.length) out['access-control-allow-methods'] = cors.AllowMethods.join(',');
  if (cors.AllowHeaders?.length) out['access-control-allow-headers'] = cors.AllowHeaders.join(',');
  if (cors.MaxAge !== undefined) out['access-control-max-age'] = String(cors.MaxAge);
  return out;
}
