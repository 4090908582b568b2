/**
 * Lambda (REQUEST) authorizers of HTTP APIs: payload 2.0 with simple responses
 * (`{"isAuthorized": true, "context": {...}}`) or IAM policies, payload 1.0 with IAM
 * policies; results cached by identity source values for the authorizer's TTL.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
 */
import {
  type AuthorizerOutput,
  AuthorizerCache,
  authorizerContext,
  decide,
} from '../../apigateway-shared/authorizer.js';
import type { ApiLambdaInvoker } from '../../apigateway-shared/lambda.js';
import { buildArn } from '../../../shared/arn.js';
import type { ApiRecord, AuthorizerRecord } from '../store.js';
import { event10, event20, type EventContext } from './payloads.js';
import { readQuery, type ApiRequest } from './request.js';

export type LambdaAuthOutcome =
  { ok: true; context: Record<string, unknown> } | { ok: false; status: 401 | 403 | 500 };

/**
 * The value of one identity source (`$request.header.Authorization`,
 * `$request.querystring.token`, `$context.*`, `$stageVariables.*`); undefined when absent.
 */
export function identityValue(
  source: string,
  req: ApiRequest,
  stageVariables: Record<string, string>,
  context: Record<string, unknown> = {},
): string | undefined {
  // HTTP APIs write `$request.header.X`, WebSocket APIs `route.request.header.X`.
  const request = source.startsWith('route.request.') ? source.slice(6) : source.slice(1);
  if (request.startsWith('request.header.')) {
    return req.headers[request.slice('request.header.'.length).toLowerCase()] || undefined;
  }
  if (request.startsWith('request.querystring.')) {
    return readQuery(req.rawQuery).single?.[request.slice('request.querystring.'.length)];
  }
  if (source.startsWith('$stageVariables.')) {
    return stageVariables[source.slice('$stageVariables.'.length)] || undefined;
  }
  if (source.startsWith('$context.')) {
    const v = context[source.slice('$context.'.length)];
    return v === undefined || v === null ? undefined : String(v);
  }
  return undefined;
}

export class LambdaAuthorizers {
  /** Cached outputs keyed `<api>/<stage>/<authorizer>\0<identity values>`. */
  readonly cache = new AuthorizerCache<AuthorizerOutput | { isAuthorized: boolean }>();

  constructor(private readonly invoker: ApiLambdaInvoker) {}

  async authorize(
    api: ApiRecord,
    authorizer: AuthorizerRecord,
    req: ApiRequest,
    ctx: EventContext,
    routeArn: string,
  ): Promise<LambdaAuthOutcome> {
    const stageVariables = ctx.stageVariables ?? {};
    const identity: string[] = [];
    for (const source of authorizer.identitySource) {
      const v = identityValue(source, req, stageVariables);
      // "If a specified identity source is missing, null, or empty, API Gateway returns a
      // 401 Unauthorized response without calling your authorizer Lambda function."
      if (v === undefined) return { ok: false, status: 401 };
      identity.push(v);
    }
    const ttl = identity.length > 0 ? authorizer.authorizerResultTtlInSeconds : 0;
    const key = `${api.apiId}/${ctx.stage}/${authorizer.authorizerId}\u0000${identity.join('\u0000')}`;
    let output = ttl > 0 ? this.cache.get(key) : undefined;
    if (output === undefined) {
      const invoked = await this.invoke(api, authorizer, req, ctx, routeArn, identity);
      if (invoked === undefined) return { ok: false, status: 500 };
      output = invoked;
      this.cache.set(key, output, ttl);
    }
    return this.decideOn(authorizer, output, routeArn);
  }

  private async invoke(
    api: ApiRecord,
    authorizer: AuthorizerRecord,
    req: ApiRequest,
    ctx: EventContext,
    routeArn: string,
    identity: string[],
  ): Promise<AuthorizerOutput | { isAuthorized: boolean } | undefined> {
    // WebSocket APIs have no payload version: their authorizers get the 1.0 (REST) event.
    const v2 = authorizer.authorizerPayloadFormatVersion === '2.0';
    let event: Record<string, unknown>;
    if (v2) {
      const full = event20(req, ctx);
      delete full.body;
      delete full.isBase64Encoded;
      event = { version: '2.0', type: 'REQUEST', routeArn, identitySource: identity, ...full };
      event.version = '2.0';
    } else {
      const full = event10(req, ctx);
      delete full.body;
      delete full.isBase64Encoded;
      event = {
        version: '1.0',
        type: 'REQUEST',
        methodArn: routeArn,
        identitySource: identity.join(','),
        authorizationToken: identity[0],
        ...full,
      };
      event.version = '1.0';
    }
    const outcome = await this.invoker.invoke({
      account: api.account,
      region: api.region,
      uri: authorizer.authorizerUri ?? '',
      sourceArn: buildArn(
        'execute-api',
        api.region,
        api.account,
        `${api.apiId}/authorizers/${authorizer.authorizerId}`,
      ),
      payload: Buffer.from(JSON.stringify(event)),
      timeoutMs: 10_000,
    });
    if (outcome.kind !== 'ok') return undefined;
    try {
      const parsed: unknown = JSON.parse(outcome.payload.toString('utf8'));
      return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
    } catch {
      return undefined;
    }
  }

  private decideOn(
    authorizer: AuthorizerRecord,
    output: AuthorizerOutput | { isAuthorized: boolean },
    routeArn: string,
  ): LambdaAuthOutcome {
    if (authorizer.enableSimpleResponses) {
      const simple = output as { isAuthorized?: unknown; context?: unknown };
      if (typeof simple.isAuthorized !== 'boolean') return { ok: false, status: 500 };
      if (!simple.isAuthorized) return { ok: false, status: 403 };
      const context =
        typeof simple.context === 'object' && simple.context !== null ? simple.context : {};
      return { ok: true, context: context as Record<string, unknown> };
    }
    const policy = output as AuthorizerOutput;
    const decision = decide(policy.policyDocument, routeArn);
    if (decision === 'invalid') return { ok: false, status: 500 };
    if (decision !== 'allow') return { ok: false, status: 403 };
    const context = authorizerContext(policy);
    if (context === undefined) return { ok: false, status: 500 };
    return { ok: true, context };
  }
}
