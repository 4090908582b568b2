/** API Gateway v2's operations: the per-resource modules, spread into one object. */
import { apiOperations } from './apis.js';
import { authorizerOperations } from './authorizers.js';
import type { ApiGatewayV2Deps } from './common.js';
import { integrationOperations } from './integrations.js';
import { routeOperations } from './routes.js';
import { stageOperations } from './stages.js';
import { tagOperations } from './tags.js';

export function apigatewayv2Operations(
  deps: ApiGatewayV2Deps,
  resetAuthorizerCache: (apiId: string, stage: string) => void,
) {
  return {
    ...apiOperations(deps),
    ...routeOperations(deps),
    ...integrationOperations(deps),
    ...authorizerOperations(deps, resetAuthorizerCache),
    ...stageOperations(deps),
    ...tagOperations(deps),
  };
}
