import type { CeOperations } from '../../api/ce/operations.js';
import type { CeDeps } from './common.js';
import { costOperations } from './cost-and-usage.js';
import { dimensionOperations } from './dimensions.js';

export function ceOperations(deps: CeDeps): Partial<CeOperations> {
  return { ...costOperations(deps), ...dimensionOperations(deps) };
}
