/**
 * InvokeWithResponseStream (`POST /2021-11-15/functions/{FunctionName}/response-streaming-
 * invocations`). Its answer is an event stream (PayloadChunk events, then InvokeComplete),
 * which the model-driven codec cannot produce, so it is served here, before the API chain,
 * with the chain's authentication (the `signatures` link).
 * https://docs.aws.amazon.com/lambda/latest/api/API_InvokeWithResponseStream.html
 *
 * A streaming handler's (awslambda.streamifyResponse) body goes out as one PayloadChunk per
 * chunk the runtime sends, as it arrives; a buffered handler's answer as one PayloadChunk
 * once it finished. InvokeComplete ends the stream: errors (mid-stream ones too) in its
 * ErrorCode / ErrorDetails, the log tail in its LogResult.
 */
import { rootPrincipal } from '../../../shared/arn.js';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StratusConfig } from '../../../config.js';
import type { RequestContext } from '../../../shared/context.js';
import { clientGone } from '../../../shared/client-gone.js';
import { AwsError } from '../../../shared/errors.js';
import { percentDecode } from '../../../shared/percent.js';
import type { DataPlane, RequestAuthenticator } from '../../plugin.js';
import { validationException } from '../errors.js';
import type { InvokeOutcome } from '../execution/types.js';
import type { LambdaFunctions } from '../functions-api.js';
import { eventMessage } from '../../../protocol/event-stream.js';
import { flatHeaders, readLimitedBody, splitUrl } from './http.js';
import { logResult } from './operations.js';
import {
  MAX_SYNC_PAYLOAD_BYTES,
  checkClientContext,
  eventPayload,
  syncTooLarge,
} from './payload.js';
import type { InvocationRunner } from './runner.js';

export const STREAM_INVOKE_PREFIX = '/2021-11-15/functions/';
const SUFFIX = '/response-streaming-invocations';

export interface StreamDataPlaneDeps {
  config: StratusConfig;
  functions: LambdaFunctions;
  runner: InvocationRunner;
  /** Without it, streamed answers arrive buffered, in one PayloadChunk. */
  signatures: RequestAuthenticator;
  warn: (msg: string, detail?: Record<string, unknown>) => void;
}

export function streamInvokeDataPlane(deps: StreamDataPlaneDeps): DataPlane {
  return {
    name: 'lambda-stream',
    title: 'Lambda InvokeWithResponseStream (signed for lambda)',
    paths: [STREAM_INVOKE_PREFIX],
    signedFor: ['lambda'],
    async handle(req, res) {
      const requestId = randomUUID();
      try {
        await serve(deps, req, res, requestId);
      } catch (err) {
        if (!(err instanceof AwsError) && clientGone(req, err)) {
          res.destroy();
          return;
        }
        const error = err instanceof AwsError ? err : internal(err, deps);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendError(res, requestId, error);
      }
    },
  };
}

async function serve(
  deps: StreamDataPlaneDeps,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
): Promise<void> {
  const { path, query } = splitUrl(req.url ?? '/');
  if (req.method !== 'POST' || !path.endsWith(SUFFIX)) {
    req.resume();
    throw new AwsError(
      'UnknownOperationException',
      404,
      true,
      `No operation matches ${req.method} ${path}`,
    );
  }
  const payloadIn = await readLimitedBody(req, MAX_SYNC_PAYLOAD_BYTES);
  if (payloadIn === 'too-large') throw syncTooLarge();
  const headers = flatHeaders(req);
  const ctx = await authenticate(
    deps,
    { method: 'POST', path, rawQuery: query, headers },
    payloadIn,
    requestId,
  );

  // Decoded as the codec decodes the other operations' labels: a malformed escape is a 4xx
  // (the name then fails validation), never a URIError.
  const functionName = percentDecode(path.slice(STREAM_INVOKE_PREFIX.length, -SUFFIX.length));
  const qualifier = new URLSearchParams(query).get('Qualifier') ?? undefined;
  const type = headers['x-amz-invocation-type'] ?? 'RequestResponse';
  if (type !== 'RequestResponse' && type !== 'DryRun') {
    throw validationException([
      `Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [RequestResponse, DryRun]`,
    ]);
  }
  const payload = eventPayload(payloadIn);
  checkClientContext(headers['x-amz-client-context']);
  const target = await deps.functions.resolve(ctx, functionName, qualifier);
  if (type === 'DryRun') {
    res.writeHead(204, { 'x-amzn-requestid': requestId }).end();
    return;
  }
  const tail = headers['x-amz-log-type'] === 'Tail';
  // The 200 goes out with the first chunk, or once the function finished: errors before it
  // (throttles, a function that cannot run) are still the operation's errors.
  const head = {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-requestid': requestId,
    'x-amz-executed-version': target.executedVersion,
  };
  const outcome: InvokeOutcome = await deps.runner.run(target, {
    requestId,
    payload,
    clientContext: headers['x-amz-client-context'],
    tailLogs: tail,
    source: 'ResponseStream',
    onChunk(chunk) {
      if (!res.headersSent) res.writeHead(200, head);
      res.write(eventMessage('PayloadChunk', 'application/octet-stream', chunk));
    },
  });
  if (!res.headersSent) res.writeHead(200, head);
  const complete: { ErrorCode?: string; ErrorDetails?: string; LogResult?: string } = {};
  if (outcome.kind === 'success') {
    if (outcome.payload.length > 0) {
      res.write(eventMessage('PayloadChunk', 'application/octet-stream', outcome.payload));
    }
  } else {
    const { errorType, errorMessage } = errorFields(outcome.payload);
    complete.ErrorCode = errorType ?? 'Unhandled';
    complete.ErrorDetails = errorMessage ?? outcome.payload.toString('utf8');
  }
  if (tail && outcome.logTail !== undefined) complete.LogResult = logResult(outcome.logTail);
  res.end(
    eventMessage('InvokeComplete', 'application/json', Buffer.from(JSON.stringify(complete))),
  );
}

async function authenticate(
  deps: StreamDataPlaneDeps,
  req: { method: string; path: string; rawQuery: string; headers: Record<string, string> },
  body: Buffer,
  requestId: string,
): Promise<RequestContext> {
  const who = await deps.signatures.authenticate(req, body, 'lambda');
  if (who instanceof AwsError) throw who;
  if (who === undefined) {
    if (deps.config.auth === 'strict') {
      throw new AwsError(
        'MissingAuthenticationTokenException',
        403,
        true,
        'Missing Authentication Token',
      );
    }
    const account = deps.config.defaultAccount;
    return {
      requestId,
      account,
      region: deps.config.defaultRegion,
      accessKeyId: '',
      principal: rootPrincipal(account),
    };
  }
  return { requestId, ...who };
}

function errorFields(payload: Buffer): { errorType?: string; errorMessage?: string } {
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) {
      const p = parsed as { errorType?: unknown; errorMessage?: unknown };
      return {
        errorType: typeof p.errorType === 'string' ? p.errorType : undefined,
        errorMessage: typeof p.errorMessage === 'string' ? p.errorMessage : undefined,
      };
    }
  } catch {
    // not JSON
  }
  return {};
}

/** rest-json's error answer: the code in x-amzn-ErrorType, the shape's members in the body. */
function sendError(res: ServerResponse, requestId: string, err: AwsError): void {
  res.writeHead(err.status, {
    'content-type': 'application/json',
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': err.code,
  });
  res.end(JSON.stringify({ ...err.fields, message: err.message }));
}

function internal(err: unknown, deps: StreamDataPlaneDeps): AwsError {
  deps.warn('InvokeWithResponseStream failed', {
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  return new AwsError('ServiceException', 500, false, 'An internal error occurred');
}
