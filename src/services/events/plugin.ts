/**
 * Amazon EventBridge (json 1.1, `AWSEvents`): event buses, rules with event patterns or
 * schedules, targets, PutEvents, TestEventPattern, tags. EventBridge subscribes to the
 * internal bus (events PutEvents accepted, events of S3, ECS and Batch, scheduled
 * firings) and delivers to the targets services register through `eventTargets`. It also
 * owns the scheduling clock Scheduler shares (`schedulingClock`) and its control plane.
 */
import type { EventsOperations } from '../../api/events/operations.js';
import { SchedulingClock } from '../../events/clock.js';
import { TargetRegistry, type EventTargets } from '../../events/targets.js';
import { createLogger } from '../../shared/log.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { clockPlane } from './clock-plane.js';
import type { EventsDeps } from './common.js';
import { eventsOperations } from './provider.js';
import { RuleRouter } from './router.js';
import { ScheduledRules } from './scheduled-rules.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** Where Lambda, ECS and Batch register as targets of rules and schedules. */
    eventTargets: EventTargets;
    /** The clock schedules fire on (Scheduler shares EventBridge's). */
    schedulingClock: SchedulingClock;
  }
}

export const eventsPlugin = definePlugin({
  name: 'events',
  needs: ['bus', 'signatures', 'meter'],
  provides: ['eventTargets', 'schedulingClock'],
  model: async () => (await import('../../api/events/model.js')).model,
  create(deps) {
    const log = createLogger(deps.config.logLevel, deps.config.logFormat);
    const clock = new SchedulingClock(deps.store, (err, key) =>
      log.warn('scheduled firing failed', { schedule: key, error: String(err) }),
    );
    const targets = new TargetRegistry();
    const router = new RuleRouter(deps.store, targets, log);
    const scheduled = new ScheduledRules(clock, deps.links.bus);
    deps.links.bus.subscribe('events', (event) => router.handle(event));
    const eventsDeps: EventsDeps = {
      store: deps.store,
      bus: deps.links.bus,
      clock,
      now: () => clock.now(),
      meter: deps.links.meter,
      rulesChanged(rule, arn) {
        if (rule) router.invalidate(rule, rule.eventBusName);
        else router.clear();
        scheduled.sync(rule, arn);
      },
    };
    return {
      dispatch: bindProvider<EventsOperations>(eventsOperations(eventsDeps)),
      provides: { eventTargets: targets, schedulingClock: clock },
      dataPlanes: [clockPlane({ config: deps.config, clock, signatures: deps.links.signatures })],
      async start() {
        await clock.start();
        await scheduled.load(deps.store);
      },
      async stop() {
        clock.stop();
      },
      async reset() {
        router.clear();
        scheduled.reset();
        clock.reset();
      },
    };
  },
});
