/**
 * Lightsail's bill on the meter (billing/meter.ts): an instance is a level of one
 * `Bundle:<RAM>` unit from its launch until it is deleted, stopped or not, because
 * "Lightsail instances and managed databases incur charges until they are deleted. These
 * resources accrue charges even when they are in the stopped state."
 * (https://docs.aws.amazon.com/lightsail/latest/userguide/amazon-lightsail-frequently-asked-questions-faq-billing-and-account-management.html).
 * The price table caps each instance's month at its plan's price.
 */
import type { Meter } from '../../billing/meter.js';
import { bundleOf } from './catalog.js';
import type { InstanceRecord } from './store.js';
import { instanceArn } from './views.js';

export interface UsageMeter {
  /** The instance is launched (created or started): billed from `at` on. */
  started(rec: InstanceRecord, at: number): void;
  /** The instance is deleted: no longer billed. */
  deleted(rec: InstanceRecord, at: number): void;
}

/** The price table's usage type of a bundle: `nano_3_0` (512 MB) → `Bundle:0.5GB`. */
export function bundleUsageType(bundleId: string): string | undefined {
  const b = bundleOf(bundleId);
  return b && `Bundle:${b.ramSizeInGb}GB`;
}

export function meteredUsage(meter: Meter): UsageMeter {
  const level = (rec: InstanceRecord, value: number, at: number) => {
    const usageType = bundleUsageType(rec.bundleId);
    if (!usageType) return;
    const arn = instanceArn(rec);
    meter.level({
      account: rec.account,
      region: rec.region,
      service: 'AmazonLightsail',
      usageType,
      resource: arn,
      series: arn,
      value,
      at,
    });
  };
  return {
    started: (rec, at) => level(rec, 1, at),
    deleted: (rec, at) => level(rec, 0, at),
  };
}
