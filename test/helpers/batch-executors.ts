/**
 * A Batch job executor with no containers, for the engine's tests and the in-process
 * bench: what is left to exercise is the scheduler and the store.
 */
import type { JobExecutor } from '../../src/services/batch/executor.js';

/** Containers that exit 0 as soon as they start. */
export const instantExecutor: JobExecutor = {
  launch(_spec, events) {
    setImmediate(() => {
      events.running();
      events.exited({ exitCode: 0, statusReason: 'Essential container in task exited' });
    });
    return { stop: async () => undefined };
  },
  close: async () => undefined,
};
