/** EventBridge Scheduler's operations, one module per resource. */
import type { SchedulerOperations } from '../../api/scheduler/operations.js';
import type { SchedulerDeps } from './common.js';
import { groupOperations } from './groups.js';
import { scheduleOperations } from './schedules.js';
import { tagOperations } from './tags.js';

export function schedulerOperations(deps: SchedulerDeps): SchedulerOperations {
  return { ...groupOperations(deps), ...scheduleOperations(deps), ...tagOperations(deps) };
}
