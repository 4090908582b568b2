/**
 * Lambda authorizers of REST APIs: TOKEN (one header, optionally checked by a validation
 * expression) and REQUEST (any headers, query parameters, stage variables, context
 * values), the result cached for the authorizer's TTL by its identity sources, and the
 * returned policy evaluated against the method ARN (apigateway-shared/authorizer.ts).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-lambda-authorizer-flow.html
 */
import type { Authorizer, GatewayResponseType } from '../../../api/apigateway/types.js';
import { buildArn } from '../../../shared/arn.js';
import {
  AuthorizerCache,
  authorizerContext,
  type AuthorizerOutput,
  decide,
  denialMessage,
} from '../../apigateway-shared/authorizer.js';
import type { ApiLambdaInvoker } from '../../apigateway-shared/lambda.js';
import type { IncomingRequest } from './proxy-event.js';
import { header } from './integrations.js';

export interface AuthorizeCall {
  authorizer: Authorizer;
  apiId: string;
  account: string;
  region: string;
  methodArn: string;
  request: IncomingRequest;
  pathParameters: Record<string, string>;
  stageVariables: Record<string, string>;
  context: Record<string, unknown>;
  /** The REQUEST authorizer's event (payload 1.0 fields without the body). */
  requestEvent: () => Record<string, unknown>;
  log: (line: string) => void;
}

export type AuthorizeResult =
  | {
      kind: 'allow';
      /** `$context.authorizer.*` and the proxy event's requestContext.authorizer. */
      context: Record<string, string | number | boolean>;
      principalId?: string;
      usageIdentifierKey?: string;
    }
  | {
      kind: 'refuse';
      type: GatewayResponseType;
      status: number;
      message: string | null;
      messageKey?: 'Message';
    };

const unauthorized: AuthorizeResult = {
  kind: 'refuse',
  type: 'UNAUTHORIZED',
  status: 401,
  message: 'Unauthorized',
};
const configError: AuthorizeResult = {
  kind: 'refuse',
  type: 'AUTHORIZER_CONFIGURATION_ERROR',
  status: 500,
  message: null,
};

export class Authorizers {
  readonly cache = new AuthorizerCache<AuthorizerOutput>();

  constructor(private readonly lambda: ApiLambdaInvoker) {}

  async authorize(c: AuthorizeCall): Promise<AuthorizeResult> {
    const a = c.authorizer;
    const ttl = a.authorizerResultTtlInSeconds ?? 300;
    let event: Record<string, unknown>;
    let identity: string[];
    if (a.type === 'TOKEN') {
      const token = sourceValue(a.identitySource ?? '', c);
      if (token === undefined || token === '') return unauthorized;
      if (a.identityValidationExpression) {
        try {
          if (!new RegExp(`^(?:${a.identityValidationExpression})$`).test(token))
            return unauthorized;
        } catch {
          return configError;
        }
      }
      identity = [token];
      event = { type: 'TOKEN', authorizationToken: token, methodArn: c.methodArn };
    } else if (a.type === 'REQUEST') {
      const sources = (a.identitySource ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      identity = [];
      for (const s of sources) {
        const v = sourceValue(s, c);
        // "If any of the specified identity sources is missing, null, or empty, API Gateway
        // returns a 401 Unauthorized response without calling the authorizer" (with caching).
        if ((v === undefined || v === '') && ttl > 0) return unauthorized;
        identity.push(v ?? '');
      }
      event = { type: 'REQUEST', methodArn: c.methodArn, ...c.requestEvent() };
    } else {
      c.log(`Authorizer type ${String(a.type)} is not supported`);
      return configError;
    }

    const cacheKey = `${c.apiId}/${a.id ?? ''}\u0000${identity.join('\u0000')}`;
    let out = ttl > 0 ? this.cache.get(cacheKey) : undefined;
    if (!out) {
      const result = await this.lambda.invoke({
        account: c.account,
        region: c.region,
        uri: a.authorizerUri ?? '',
        sourceArn: buildArn(
          'execute-api',
          c.region,
          c.account,
          `${c.apiId}/authorizers/${a.id ?? ''}`,
        ),
        payload: Buffer.from(JSON.stringify(event)),
      });
      if (result.kind === 'failed' || result.kind === 'timeout') {
        c.log(result.log);
        return configError;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(result.payload.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      if (result.kind === 'function-error') {
        // `throw new Error('Unauthorized')` (or callback('Unauthorized')) is the 401.
        const msg = (parsed as { errorMessage?: unknown } | undefined)?.errorMessage;
        if (msg === 'Unauthorized') return unauthorized;
        c.log(`Execution failed due to configuration error: Authorizer error: ${String(msg)}`);
        return configError;
      }
      if (typeof parsed !== 'object' || parsed === null) {
        c.log('Execution failed due to configuration error: Invalid JSON in response');
        return configError;
      }
      out = parsed as AuthorizerOutput;
      this.cache.set(cacheKey, out, ttl);
    }
    const decision = decide(out.policyDocument, c.methodArn);
    if (decision === 'invalid' || out.principalId === undefined) {
      c.log('Execution failed due to configuration error: Invalid policy document or principalId');
      return configError;
    }
    if (decision !== 'allow') {
      return {
        kind: 'refuse',
        type: 'ACCESS_DENIED',
        status: 403,
        message: denialMessage(decision),
        messageKey: 'Message',
      };
    }
    const context = authorizerContext(out);
    if (!context) {
      c.log('Execution failed due to configuration error: Invalid context in authorizer output');
      return configError;
    }
    return {
      kind: 'allow',
      context,
      principalId: String(out.principalId),
      ...(typeof out.usageIdentifierKey === 'string' && {
        usageIdentifierKey: out.usageIdentifierKey,
      }),
    };
  }
}

/** One identity source's value: `method.request.header.X`, `….querystring.x`, `stageVariables.x`, `context.x`. */
function sourceValue(source: string, c: AuthorizeCall): string | undefined {
  const m = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(source);
  if (m?.[1] && m[2]) {
    if (m[1] === 'header') return header(c.request, m[2].toLowerCase());
    if (m[1] === 'path') return c.pathParameters[m[2]];
    return c.request.query.find(([k]) => k === m[2])?.[1].join(',');
  }
  if (source.startsWith('stageVariables.')) return c.stageVariables[source.slice(15)];
  if (source.startsWith('context.')) {
    const v = c.context[source.slice(8)];
    return v === undefined || v === null ? undefined : String(v as string);
  }
  return undefined;
}
