/** Lightsail's operations: the per-resource modules, spread. */
import type { LightsailOperations } from '../../api/lightsail/operations.js';
import type { LightsailDeps } from './common.js';
import { instanceOperations } from './instances.js';
import { keyPairOperations } from './keypairs.js';
import { monitoringOperations } from './monitoring.js';
import { networkingOperations } from './networking.js';
import { snapshotOperations } from './snapshots.js';

export function lightsailOperations(
  deps: LightsailDeps,
  log: (m: string) => void,
): Partial<LightsailOperations> {
  return {
    ...instanceOperations(deps),
    ...keyPairOperations(deps),
    ...networkingOperations(deps),
    ...snapshotOperations(deps, log),
    ...monitoringOperations(deps),
  };
}
