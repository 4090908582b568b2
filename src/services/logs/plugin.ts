/** CloudWatch Logs: the wire operations and the LogSink other services write through. */
import type { LogsOperations } from '../../api/logs/operations.js';
import { bindProvider, type ServicePlugin } from '../plugin.js';
import { LogsProvider } from './provider.js';
import { LogsSink } from './sink.js';

export const logsPlugin: ServicePlugin = {
  name: 'logs',
  model: async () => (await import('../../api/logs/model.js')).model,
  create(deps) {
    const provider = new LogsProvider(deps.store);
    return {
      dispatch: bindProvider<LogsOperations>(provider),
      logSink: new LogsSink(deps.store),
    };
  },
};
