/**
 * ECR's API operations (json 1.1), one module per resource. The registry core they share
 * with the /v2/ data plane is registry.ts.
 */
import type { EcrOperations } from '../../api/ecr/operations.js';
import { authOperations } from './auth-api.js';
import type { EcrDeps } from './common.js';
import { imageOperations } from './images-api.js';
import { storageClassOperations } from './storage-class.js';
import { layerOperations } from './layers-api.js';
import { lifecycleOperations } from './lifecycle-api.js';
import { registrySettingsOperations } from './registry-settings-api.js';
import { repositoryOperations } from './repositories-api.js';
import { pullExclusionOperations } from './pull-exclusions-api.js';
import { scanOperations } from './scans-api.js';
import { signingOperations } from './signing-api.js';
import { templateOperations } from './templates-api.js';

export function ecrOperations(deps: EcrDeps): Partial<EcrOperations> {
  return {
    ...repositoryOperations(deps),
    ...imageOperations(deps),
    ...storageClassOperations(deps),
    ...layerOperations(deps),
    ...authOperations(deps),
    ...lifecycleOperations(deps),
    ...registrySettingsOperations(deps),
    ...templateOperations(deps),
    ...scanOperations(deps),
    ...signingOperations(deps),
    ...pullExclusionOperations(deps),
  };
}
