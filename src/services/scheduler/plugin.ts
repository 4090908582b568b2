/**
 * Amazon EventBridge Scheduler (rest-json): schedule groups and schedules firing on the
 * scheduling clock EventBridge owns, delivered through the internal bus to the targets
 * services register with EventBridge (`eventTargets`).
 */
import type { SchedulerOperations } from '../../api/scheduler/operations.js';
import { createLogger } from '../../shared/log.js';
import { bindProvider, definePlugin } from '../plugin.js';
import type { SchedulerDeps } from './common.js';
import { ScheduleFirings } from './firings.js';
import { schedulerOperations } from './provider.js';

export const schedulerPlugin = definePlugin({
  name: 'scheduler',
  needs: ['bus', 'eventTargets', 'schedulingClock', 'meter'],
  model: async () => (await import('../../api/scheduler/model.js')).model,
  create(deps) {
    const log = createLogger(deps.config.logLevel, deps.config.logFormat);
    const clock = deps.links.schedulingClock;
    const firings = new ScheduleFirings(
      deps.store,
      clock,
      deps.links.bus,
      deps.links.eventTargets,
      log,
      deps.links.meter,
    );
    deps.links.bus.subscribe('scheduler', (event) => firings.handle(event));
    const schedulerDeps: SchedulerDeps = {
      store: deps.store,
      clock,
      schedulesChanged: (schedule, arn) => firings.sync(schedule, arn),
    };
    return {
      dispatch: bindProvider<SchedulerOperations>(schedulerOperations(schedulerDeps)),
      // After EventBridge's start: the clock has its offset by then.
      async start() {
        await firings.load();
      },
    };
  },
});
