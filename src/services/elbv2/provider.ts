/**
 * Elastic Load Balancing v2 (query protocol, `2015-12-01`), one module per resource:
 * load-balancers.ts, target-groups.ts, targets-api.ts (registration and health),
 * listeners.ts, certificates.ts (HTTPS), rules.ts, tags.ts.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/Welcome.html
 */
import { certificateOperations } from './certificates.js';
import { type ListenerDeps, listenerOperations } from './listeners.js';
import { loadBalancerOperations } from './load-balancers.js';
import { ruleOperations } from './rules.js';
import { tagOperations } from './tags.js';
import { targetGroupOperations } from './target-groups.js';
import { targetOperations, type Targets } from './targets-api.js';

export function elbv2Operations(deps: ListenerDeps, targets: Targets) {
  return {
    ...loadBalancerOperations(deps),
    ...targetGroupOperations(deps),
    ...targetOperations(targets),
    ...listenerOperations(deps),
    ...certificateOperations(deps),
    ...ruleOperations(deps),
    ...tagOperations(deps),
  };
}
