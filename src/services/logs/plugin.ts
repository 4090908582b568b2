/** CloudWatch Logs: the wire operations and the LogSink other services write through. */
import type { LogsOperations } from '../../api/logs/operations.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { logsOperations } from './provider.js';
import { createLogger } from '../../shared/log.js';
import { StoredLogEvents } from './insight-reader.js';
import { LogsSink } from './sink.js';
import { SubscriptionDelivery } from './subscription-delivery.js';
import { MetricFilterPublisher } from './metric-filter-delivery.js';
import { LiveTailHub } from './live-tail.js';
import { ExportRunner } from './exports.js';
import { ScheduledQueryRunner } from './scheduled-queries.js';
import type { LogSink } from '../../events/logs.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** CloudWatch Logs' typed append (Lambda writes function logs through it). */
    logs: LogSink;
  }
}

export const logsPlugin = definePlugin({
  name: 'logs',
  provides: ['logs'],
  needs: ['metrics', 's3writes', 'schedulingClock', 'iam'],
  model: async () => (await import('../../api/logs/model.js')).model,
  create(deps) {
    const log = createLogger(deps.config.logLevel, deps.config.logFormat);
    const liveTail = new LiveTailHub();
    const subscriptions = new SubscriptionDelivery(
      deps.store,
      (msg, err) => log.warn(msg, { error: err instanceof Error ? err.message : String(err) }),
      new MetricFilterPublisher(deps.store, deps.links.metrics),
      liveTail,
    );
    const exports = new ExportRunner(deps.store, deps.links.s3writes, Date.now, (msg, err) =>
      log.warn(msg, { error: err instanceof Error ? err.message : String(err) }),
    );
    const scheduledQueries = new ScheduledQueryRunner(
      deps.store,
      deps.links.schedulingClock,
      deps.links.s3writes,
      (msg, err) => log.warn(msg, { error: err instanceof Error ? err.message : String(err) }),
    );
    // Contributor Insights rules (CloudWatch) read the stored events through this.
    deps.links.metrics.registerLogReader?.(new StoredLogEvents(deps.store));
    return {
      dispatch: bindProvider<LogsOperations>(
        logsOperations({
          store: deps.store,
          now: Date.now,
          subscriptions,
          liveTail,
          exports,
          scheduledQueries,
          iam: deps.links.iam,
        }),
      ),
      provides: { logs: new LogsSink(deps.store, Date.now, subscriptions) },
      // After EventBridge's start: the scheduling clock has its offset by then.
      async start() {
        await exports.resume();
        await scheduledQueries.load();
      },
      async stop() {
        await exports.drain();
      },
    };
  },
});
