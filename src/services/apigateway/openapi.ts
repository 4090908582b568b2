import type { ApigatewayOperations } from '../../api/apigateway/operations.js';
import type { ApigwDeps } from './common.js';

type OpenApiOps = Pick<ApigatewayOperations, 'GetExport'>;

export function openApiOperations(_deps: ApigwDeps): Partial<OpenApiOps> {
  return {};
}
