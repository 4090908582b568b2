/**
 * Where EventBridge rules and Scheduler schedules deliver: each target service (Lambda,
 * ECS, Batch) registers a deliverer for the ARNs of its service, through the
 * `eventTargets` link the EventBridge plugin provides. The caller has already shaped the
 * payload (Input, InputPath, InputTransformer; see input.ts).
 */

import { createHash } from 'node:crypto';

/** A UUID-shaped id stable for its parts (an event and a target): redeliveries reuse it. */
export function deliveryId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\n')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Who delivers: EventBridge (for a rule) or EventBridge Scheduler (for a schedule). */
export type DeliveringService = 'events.amazonaws.com' | 'scheduler.amazonaws.com';

export interface TargetDelivery {
  /** The target's ARN (a function, a cluster, a job queue). */
  arn: string;
  /** The rule or schedule that fired, checked against the target's resource policy. */
  sourceArn: string;
  service: DeliveringService;
  /** The account and region of the rule or schedule. */
  account: string;
  region: string;
  /** The role EventBridge assumes (ECS, Batch and every Scheduler target). */
  roleArn?: string;
  /** The rule target's or schedule target's service parameters, as given. */
  ecsParameters?: Record<string, unknown>;
  batchParameters?: Record<string, unknown>;
  payload: Buffer;
  /**
   * Stable for one event and one target: a redelivery (after a crash) reuses it, so the
   * target can deduplicate (Lambda keys its async queue on it).
   */
  deliveryId: string;
}

/** A refusal the delivering service records and does not retry (AWS: FailedInvocations). */
export class DeliveryRefused extends Error {}

export interface TargetService {
  deliver(delivery: TargetDelivery): Promise<void>;
}

/** The `eventTargets` link. */
export interface EventTargets {
  /** Registers the deliverer for ARNs of `service` (`lambda`, `ecs`, `batch`). */
  register(service: string, target: TargetService): void;
  /** Delivers to whichever service owns `delivery.arn`; DeliveryRefused when none does. */
  deliver(delivery: TargetDelivery): Promise<void>;
}

export class TargetRegistry implements EventTargets {
  private readonly services = new Map<string, TargetService>();

  register(service: string, target: TargetService): void {
    this.services.set(service, target);
  }

  async deliver(delivery: TargetDelivery): Promise<void> {
    const service = delivery.arn.split(':')[2] ?? '';
    const target = this.services.get(service);
    if (!target) throw new DeliveryRefused(`Stratus delivers no events to ${service} targets`);
    await target.deliver(delivery);
  }
}
