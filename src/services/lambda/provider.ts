/**
 * Lambda's control plane: every operation through the generated model (rest-json,
 * https://docs.aws.amazon.com/lambda/latest/api/welcome.html), one module per resource.
 * Invoke and the data planes live beside it (invoke*.ts, execution/).
 */
import type { LambdaOperations } from '../../api/lambda/operations.js';
import { aliasOperations } from './aliases.js';
import { capacityProviderOperations } from './capacity-providers.js';
import type { Scope } from './arns.js';
import { codeSigningOperations } from './code-signing.js';
import type { LambdaDeps } from './common.js';
import { concurrencyOperations } from './concurrency.js';
import { eventInvokeOperations } from './event-invoke-config.js';
import { functionSettingsOperations } from './function-settings.js';
import { functionOperations } from './functions.js';
import { layerPermissionOperations } from './layer-permissions.js';
import { layerOperations } from './layers.js';
import { policyOperations } from './policies.js';
import { provisionedOperations, storedOnly, type Provisioner } from './provisioned.js';
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
  ReturnType<typeof urlOperations> &
  ReturnType<typeof codeSigningOperations> &
  ReturnType<typeof functionSettingsOperations> &
  ReturnType<typeof layerPermissionOperations> &
  ReturnType<typeof provisionedOperations> &
  ReturnType<typeof capacityProviderOperations>;

/** `provisioner` is read at each call: the invoke path that keeps environments comes later. */
export function controlPlaneOperations(
  deps: LambdaDeps,
  provisioner: () => Provisioner = () => storedOnly,
  scaled: () => (scope: Scope, functionName: string) => void = () => () => {},
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
    ...codeSigningOperations(deps),
    ...functionSettingsOperations(deps),
    ...layerPermissionOperations(deps),
    ...provisionedOperations(deps, provisioner),
    ...capacityProviderOperations(deps, scaled, provisioner),
  };
}
