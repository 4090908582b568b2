/** CloudWatch Logs: the wire operations and the LogSink other services write through. */
import type { LogsOperations } from '../../api/logs/operations.js';
import { bindProvider, definePlugin } from '../plugin.js';
import { LogsProvider } from './provider.js';
import { LogsSink } from './sink.js';

export const logsPlugin = definePlugin({
  name: 'logs',
  provides: ['logs'],
  model: async () => (await import('../../api/logs/model.js')).model,
  create(deps) {
    const provider = new LogsProvider(deps.store);
    return {
      dispatch: bindProvider<LogsOperations>(provider),
      provides: { logs: new LogsSink(deps.store) },
    };
  },
});
