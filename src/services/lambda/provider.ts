/**
 * Lambda's control plane: every operation through the generated model (rest-json,
 * https://docs.aws.amazon.com/lambda/latest/api/welcome.html), one module per resource.
 * Invoke and the data planes live beside it (invoke*.ts, execution/).
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import { aliasOperations } from './aliases.js';
import type { LambdaDeps } from './common.js';
import { concurrencyOperations } from './concurrency.js';
import { eventInvokeOperations } from './event-invoke-config.js';
import { functionOperations } from './functions.js';
import { layerOperations } from './layers.js';
import { policyOperations } from './policies.js';
import { tagOperations } from './tags.js';
import { urlOperations } from './url-config.js';
import { versionOperations } from './versions.js';

export type ControlPlaneOperations = ReturnType<typeof functionOperations> &
  ReturnType<typeof versionOperations> &
  ReturnType<typeof aliasOperations> &
  ReturnType<typeof layerOperations> &
  ReturnType<typeof concurrencyOperations> &
  ReturnType<typeof policyOperations> &
  ReturnType<typeof tagOperations> &
  ReturnType<typeof eventInvokeOperations> &
  ReturnType<typeof urlOperations>;

export function controlPlaneOperations(
  deps: LambdaDeps,
): ControlPlaneOperations & Partial<LambdaOperations> {
  return {
    ...functionOperations(deps),
    ...versionOperations(deps),
    ...aliasOperations(deps),
    ...layerOperations(deps),
    ...concurrencyOperations(deps),
    ...policyOperations(deps),
    ...tagOperations(deps),
    ...eventInvokeOperations(deps),
    ...urlOperations(deps),
  };
}
