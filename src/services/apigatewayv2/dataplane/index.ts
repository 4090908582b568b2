/**
 * The invoke path of HTTP and WebSocket APIs, registered with the gateway's execute-api
 * data plane: HTTP requests go to the HTTP API handler, WebSocket handshakes to the
 * WebSocket handler.
 */
import type { Meter } from '../../../billing/meter.js';
import type { LogSink } from '../../../events/logs.js';
import type { MetricSink } from '../../../events/metrics.js';
import type { ExecuteApiBackend } from '../../../gateway/execute-api.js';
import type { ResourcePolicySource } from '../../../policy/sources.js';
import type { Logger } from '../../../shared/log.js';
import type { MetadataStore } from '../../../storage/types.js';
import { AccessLogWriter } from '../../apigateway-shared/context-vars.js';
import { ApiLambdaInvoker } from '../../apigateway-shared/lambda.js';
import { StageMetrics } from '../../apigateway-shared/stage-metrics.js';
import { TokenBuckets } from '../../apigateway-shared/throttle.js';
import type { FunctionInvoker } from '../../lambda/invoke/service-invoker.js';
import type { RequestAuthenticator } from '../../plugin.js';
import { refuseUpgrade } from '../../../gateway/execute-api.js';
import { buildArn } from '../../../shared/arn.js';
import { Connections, type WebSocketConnections } from './connections.js';
import { DeployedApis } from './deployed.js';
import { HttpInvoke } from './http.js';
import { JwtAuthorizers } from './jwt.js';
import { WebSocketMetrics } from './ws-metrics.js';
import { LambdaAuthorizers } from './lambda-authorizer.js';
import {
  AWS_LIMITS,
  type ConnectAuthorizer,
  WebSocketInvoke,
  type WebSocketLimits,
} from './websocket.js';

export interface InvokePathDeps {
  store: MetadataStore;
  functions: FunctionInvoker;
  resourcePolicies: readonly ResourcePolicySource[];
  signatures: RequestAuthenticator;
  logs: LogSink;
  log: Logger;
  /** AWS's idle and duration limits unless told otherwise (tests shorten them). */
  webSocketLimits?: WebSocketLimits;
  /** CloudWatch and the bill (absent: neither is told). */
  metrics?: MetricSink;
  meter?: Meter;
}

export interface InvokePath {
  backend: ExecuteApiBackend;
  /** The control plane changed `apiId` (or everything, after a reset). */
  forget(apiId?: string): void;
  resetAuthorizerCache(apiId: string, stage: string): void;
  metrics: StageMetrics;
  connections: WebSocketConnections;
  stop(): Promise<void>;
}

export function createInvokePath(deps: InvokePathDeps): InvokePath {
  const deployed = new DeployedApis(deps.store);
  const lambda = new ApiLambdaInvoker(deps.functions, deps.resourcePolicies);
  const lambdaAuthorizers = new LambdaAuthorizers(lambda);
  const jwt = new JwtAuthorizers();
  const throttles = new TokenBuckets();
  const metrics = new StageMetrics(Date.now, {
    kind: 'HTTP',
    sink: deps.metrics,
    meter: deps.meter,
  });
  const wsMetrics = new WebSocketMetrics(deps.metrics, deps.meter);
  const accessLogs = new AccessLogWriter(deps.logs, 100, (err) =>
    deps.log.warn('API Gateway access log write failed', { error: String(err) }),
  );
  const http = new HttpInvoke({
    lambda,
    jwt,
    lambdaAuthorizers,
    throttles,
    signatures: deps.signatures,
    accessLogs,
    metrics,
  });
  const connections = new Connections();
  const authorizeConnect: ConnectAuthorizer = async (api, stage, route, request) => {
    const stageName = stage.stage.stageName;
    const routeArn = buildArn(
      'execute-api',
      api.region,
      api.account,
      `${api.apiId}/${stageName}/$connect`,
    );
    if (route.authorizationType === 'CUSTOM') {
      const authorizer = stage.snapshot.authorizers[route.authorizerId ?? ''];
      if (!authorizer) return { ok: false, status: 500 };
      const verdict = await lambdaAuthorizers.authorize(
        api,
        authorizer,
        request,
        {
          account: api.account,
          apiId: api.apiId,
          stage: stageName,
          routeKey: '$connect',
          resource: '$connect',
          stageVariables: stage.stage.stageVariables,
        },
        routeArn,
      );
      return verdict.ok ? { ok: true, context: verdict.context } : verdict;
    }
    if (route.authorizationType === 'AWS_IAM') {
      const caller = await deps.signatures.authenticate(
        {
          method: 'GET',
          path: request.rawPath,
          rawQuery: request.rawQuery,
          headers: request.headers,
        },
        request.body,
        'execute-api',
      );
      if (caller === undefined || 'code' in caller) return { ok: false, status: 403 };
      const refused = await deps.signatures.authorize(
        {
          principal: caller.principal,
          account: caller.account,
          region: api.region,
          action: 'execute-api:Invoke',
          resource: routeArn,
          sourceIp: request.sourceIp,
        },
        'rest-json',
      );
      return refused ? { ok: false, status: 403 } : { ok: true };
    }
    return { ok: false, status: 500 };
  };
  const webSockets = new WebSocketInvoke(
    lambda,
    connections,
    deps.log,
    authorizeConnect,
    deps.webSocketLimits ?? AWS_LIMITS,
    wsMetrics,
  );
  const backend: ExecuteApiBackend = {
    owns: (apiId) => deployed.owns(apiId),
    async handle(req, res, target) {
      const live = await deployed.get(target.apiId);
      if (!live) {
        req.resume();
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Not Found' }));
        return;
      }
      if (live.api.protocolType === 'WEBSOCKET') {
        // A plain HTTP request to a WebSocket API: AWS refuses it before any route.
        req.resume();
        res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' });
        res.end(JSON.stringify({ message: 'Upgrade Required' }));
        return;
      }
      return http.handle(live, req, res, target);
    },
    upgrade(req, socket, head, target) {
      deployed.get(target.apiId).then(
        (live) => {
          if (!live || live.api.protocolType !== 'WEBSOCKET') return refuseUpgrade(socket, 400);
          webSockets.upgrade(live, req, socket, head, target);
        },
        () => refuseUpgrade(socket, 500),
      );
    },
    shutdown: () => webSockets.close(),
  };
  return {
    backend,
    forget(apiId) {
      deployed.forget(apiId);
      if (apiId === undefined) {
        lambda.forgetVerdicts();
        metrics.drain();
        wsMetrics.clear();
        throttles.clear();
        lambdaAuthorizers.cache.clear();
        jwt.clear();
      } else {
        throttles.clear(`${apiId}/`);
        lambdaAuthorizers.cache.clear(`${apiId}/`);
      }
    },
    resetAuthorizerCache(apiId, stage) {
      lambdaAuthorizers.cache.clear(`${apiId}/${stage}/`);
    },
    metrics,
    connections,
    async stop() {
      webSockets.close();
      metrics.flush();
      wsMetrics.flush();
      await accessLogs.flush();
    },
  };
}
