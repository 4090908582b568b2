/**
 * Amazon API Gateway, REST APIs (v1, rest-json `apigateway`): the control plane (APIs,
 * resources, methods, integrations, deployments, stages, keys, usage plans, authorizers,
 * OpenAPI import and export) and the invoke path, which joins the gateway's one
 * execute-api data plane through the `executeApis` link.
 */
import type { ApigatewayOperations } from '../../api/apigateway/operations.js';
import { clientEndpoint } from '../../shared/endpoint.js';
import { createLogger } from '../../shared/log.js';
import { AccessLogWriter } from '../apigateway-shared/context-vars.js';
import { ApiLambdaInvoker } from '../apigateway-shared/lambda.js';
import { StageMetrics } from '../apigateway-shared/stage-metrics.js';
import { TokenBuckets } from '../apigateway-shared/throttle.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { RestApiBackend } from './dataplane/serve.js';
import { apigatewayOperations } from './provider.js';
import { UsageMeter } from './usage.js';

export const apigatewayPlugin = definePlugin({
  name: 'apigateway',
  needs: [
    'executeApis',
    'functionInvoke',
    'resourcePolicies',
    'logs',
    'signatures',
    'metrics',
    'meter',
  ],
  model: async () => (await import('../../api/apigateway/model.js')).model,
  create(deps) {
    const log = createLogger(deps.config.logLevel, deps.config.logFormat);
    const lambda = new ApiLambdaInvoker(deps.links.functionInvoke, deps.links.resourcePolicies);
    const accessLogs = new AccessLogWriter(deps.links.logs, 100, (err) =>
      log.warn('apigateway: access log write failed', { error: String(err) }),
    );
    const usage = new UsageMeter(deps.store);
    const metrics = new StageMetrics(Date.now, {
      kind: 'REST',
      sink: deps.links.metrics,
      meter: deps.links.meter,
    });
    const backend = new RestApiBackend({
      store: deps.store,
      lambda,
      signatures: deps.links.signatures,
      accessLogs,
      metrics,
      usage,
      buckets: new TokenBuckets(),
      log,
    });
    deps.links.executeApis.register(backend);
    let endpoint = clientEndpoint(deps.config.host, deps.config.port);
    return {
      dispatch: bindProvider<ApigatewayOperations>(
        apigatewayOperations({
          store: deps.store,
          now: Date.now,
          endpoint: () => endpoint,
          changed: (apiId) => backend.changed(apiId),
        }),
      ),
      start: (server) => {
        endpoint = server.endpoint;
        return Promise.resolve();
      },
      stop: () => {
        metrics.flush();
        return accessLogs.flush();
      },
      reset: () => {
        metrics.drain();
        backend.changed();
        lambda.forgetVerdicts();
        return Promise.resolve();
      },
    };
  },
});
