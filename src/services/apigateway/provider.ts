/** API Gateway (REST APIs): the per-resource operation modules, spread into one provider. */
import type { ApigatewayOperations } from '../../api/apigateway/operations.js';
import type { ApigwDeps } from './common.js';
import { definitionOperations } from './definitions.js';
import { deploymentOperations } from './deployments.js';
import { methodOperations } from './methods.js';
import { openApiOperations } from './openapi.js';
import { restApiOperations } from './rest-apis.js';
import { tagOperations } from './tags.js';
import { usagePlanOperations } from './usage-plans.js';

export function apigatewayOperations(deps: ApigwDeps): Partial<ApigatewayOperations> {
  return {
    ...restApiOperations(deps),
    ...methodOperations(deps),
    ...definitionOperations(deps),
    ...deploymentOperations(deps),
    ...usagePlanOperations(deps),
    ...openApiOperations(deps),
    ...tagOperations(deps),
  };
}
