/**
 * An environment's Max Memory Used (REPORT): the peak of its runtime's memory, read from
 * the driver. Reading /proc costs ~0.1 ms, so the figure is refreshed on cold starts,
 * failures and at most once a second; otherwise the last figure stands.
 */
import type { SpawnedProcess } from '../../../runtime/types.js';

/** Reading /proc costs ~0.1 ms: the memory figure is refreshed at most this often. */
const MEMORY_SAMPLE_MS = 1000;

export class PeakMemory {
  /** The highest figure read so far, in MB. */
  mb = 0;
  private sampledAt = 0;

  /**
   * Calls `then` once the figure is fresh enough: at once when it is (or there is no
   * process), after a read of `proc` when `force` is set or a second has passed.
   */
  refresh(proc: SpawnedProcess | null, force: boolean, then: () => void): void {
    const now = performance.now();
    if (proc === null || (!force && now - this.sampledAt < MEMORY_SAMPLE_MS)) {
      then();
      return;
    }
    this.sampledAt = now;
    void proc.peakMemoryMb().then((mb) => {
      if (mb > this.mb) this.mb = mb;
      then();
    }, then);
  }
}
