/** CloudWatch Logs: the wire operations and the LogSink other services write through. */
import type { LogsOperations } from '../../api/logs/operations.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { logsOperations } from './provider.js';
import { LogsSink } from './sink.js';
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
  model: async () => (await import('../../api/logs/model.js')).model,
  create(deps) {
    return {
      dispatch: bindProvider<LogsOperations>(logsOperations({ store: deps.store, now: Date.now })),
      provides: { logs: new LogsSink(deps.store) },
    };
  },
});
