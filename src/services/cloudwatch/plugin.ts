/**
 * CloudWatch metrics and alarms: the wire operations, and the `metrics` link other services
 * publish AWS's metrics through (and register alarm action targets on).
 */
import type { CloudwatchOperations } from '../../api/cloudwatch/operations.js';
import type { MetricSink } from '../../events/metrics.js';
import { createLogger } from '../../shared/log.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { AlarmEngine } from './alarm-engine.js';
import { detectorLookup } from './anomaly-api.js';
import { mutedBy } from './mute-rules.js';
import { cloudwatchOperations } from './provider.js';
import { MetricStore } from './series.js';
import { CloudwatchSink } from './sink.js';

declare module '../links.js' {
  interface ServiceLinks {
    /** CloudWatch's typed metric publishing (Lambda's Invocations, Errors, Duration…). */
    metrics: MetricSink;
  }
}

/** How often retention and roll-up run. */
const SWEEP_MS = 10 * 60_000;

export const cloudwatchPlugin = definePlugin({
  name: 'cloudwatch',
  provides: ['metrics'],
  model: async () => (await import('../../api/cloudwatch/model.js')).model,
  create(deps) {
    const log = createLogger(deps.config.logLevel, deps.config.logFormat);
    const warn = (message: string, err?: unknown): void =>
      log.warn(message, { error: err instanceof Error ? err.message : String(err) });
    const metrics = new MetricStore(deps.store);
    const alarms = new AlarmEngine({
      store: deps.store,
      metrics,
      now: Date.now,
      warn,
      intervalMs: evaluationInterval(process.env),
      models: (scope) => detectorLookup(deps.store, scope),
      mutedBy: (scope, alarm, now) => mutedBy(deps.store, scope, alarm, now),
    });
    const sink = new CloudwatchSink(
      metrics,
      alarms,
      (err) => warn('could not record service metrics', err),
      process.env.STRATUS_METRICS !== 'off',
    );
    let sweeper: NodeJS.Timeout | undefined;
    return {
      dispatch: bindProvider<CloudwatchOperations>(
        cloudwatchOperations({
          store: deps.store,
          metrics,
          alarms,
          now: Date.now,
          logs: () => sink.logReader,
        }),
      ),
      provides: { metrics: sink },
      async start() {
        alarms.start();
        sweeper = setInterval(
          () => void metrics.sweep(Date.now()).catch((err) => warn('metric roll-up failed', err)),
          SWEEP_MS,
        );
        sweeper.unref();
      },
      async stop() {
        if (sweeper) clearInterval(sweeper);
        await sink.flush();
        await alarms.stop();
      },
      async reset() {
        sink.clear();
        metrics.reset();
      },
    };
  },
});

/** STRATUS_CLOUDWATCH_EVALUATION_SECONDS: how often alarms are evaluated (default 5). */
function evaluationInterval(env: NodeJS.ProcessEnv): number {
  const s = Number(env.STRATUS_CLOUDWATCH_EVALUATION_SECONDS);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 5000;
}
