/**
 * A container's health check, run as ECS (through Docker) runs it: the command inside the
 * container every `interval`, the first one `interval` after start; a run that exits 0 is
 * a pass, a non-zero exit or a run longer than `timeout` a failure; `retries` consecutive
 * failures make the container UNHEALTHY, one pass HEALTHY again. Failures within
 * `startPeriod` after start do not count (a pass ends the start period early).
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html
 */
import type { Container } from '../container.js';
import type { HealthStatus, TaskHealthCheck } from './spec.js';

/** argv of a health check command (`CMD-SHELL` runs through /bin/sh -c, as Docker does). */
export function healthCheckArgv(command: readonly string[]): string[] {
  const [kind, ...rest] = command;
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')];
  if (kind === 'CMD') return rest;
  // ECS passes a bare command on like Docker, which treats it as CMD-SHELL.
  return ['/bin/sh', '-c', command.join(' ')];
}

export class HealthMonitor {
  status: HealthStatus = 'UNKNOWN';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private readonly startedAt = Date.now();
  private inStartPeriod = true;

  constructor(
    private readonly container: Container,
    private readonly check: TaskHealthCheck,
    private readonly onChange: (status: HealthStatus) => void,
  ) {}

  start(): void {
    if (!this.container.exec) return; // the driver cannot enter containers: stays UNKNOWN
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probe(), this.check.intervalSeconds * 1000);
  }

  private async probe(): Promise<void> {
    let passed = false;
    try {
      const code = await this.container.exec!(
        healthCheckArgv(this.check.command),
        this.check.timeoutSeconds * 1000,
      );
      passed = code === 0;
    } catch {
      passed = false; // timed out, or the container is gone
    }
    if (this.stopped) return;
    if (passed) {
      this.inStartPeriod = false;
      this.failures = 0;
      this.set('HEALTHY');
    } else {
      const grace =
        this.inStartPeriod && Date.now() - this.startedAt < this.check.startPeriodSeconds * 1000;
      if (!grace && ++this.failures >= this.check.retries) this.set('UNHEALTHY');
    }
    this.schedule();
  }

  private set(status: HealthStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.onChange(status);
  }
}
