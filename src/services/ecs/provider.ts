/** The ECS operations Stratus implements, one module per resource. */
import type { EcsOperations } from '../../api/ecs/operations.js';
import { accountSettingOperations } from './account-settings.js';
import { clusterOperations } from './clusters.js';
import { containerInstanceOperations } from './container-instances.js';
import { serviceDeploymentOperations } from './service-deployments.js';
import { serviceOperations, type ServiceDeps } from './services.js';
import { taskDefinitionOperations } from './task-definitions.js';
import { tagOperations } from './tags.js';
import { taskProtectionOperations } from './task-protection.js';
import { taskOperations } from './tasks.js';

export function ecsOperations(deps: ServiceDeps): Partial<EcsOperations> {
  return {
    ...clusterOperations(deps),
    ...taskDefinitionOperations(deps),
    ...taskOperations(deps),
    ...containerInstanceOperations(deps),
    ...taskProtectionOperations(deps),
    ...accountSettingOperations(deps),
    ...serviceDeploymentOperations(deps),
    ...serviceOperations(deps),
    ...tagOperations(deps),
  };
}
