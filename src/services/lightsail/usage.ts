/**
 * Bundle-hours for the bill. The billing meter (issue: metrics and bill) has not landed;
 * until it does, Lightsail records each running period of an instance in its own table
 * (`lightsail-usage`: instance ARN, bundle, start and end in ms), which the meter can read
 * or replace through this interface: started() when an instance reaches running,
 * stopped() when it stops, reboots or is deleted.
 */
import type { MetadataStore } from '../../storage/types.js';
import type { InstanceRecord } from './store.js';

export interface UsageMeter {
  started(rec: InstanceRecord, at: number): Promise<void>;
  stopped(rec: InstanceRecord, at: number): Promise<void>;
}

export const USAGE_TABLE = 'lightsail-usage';

export interface UsagePeriod {
  account: string;
  region: string;
  instance: string;
  instanceId: string;
  bundleId: string;
  startedAt: number;
  stoppedAt?: number;
}

/** Periods keyed `<instance id>/<start ms, zero-padded>`; the open one has no stoppedAt. */
export function storeUsageMeter(store: MetadataStore): UsageMeter {
  const open = async (id: string) =>
    (await store.list<UsagePeriod>(USAGE_TABLE, { prefix: `${id}/` })).find(
      (p) => p.value.stoppedAt === undefined,
    );
  return {
    async started(rec, at) {
      if (await open(rec.id)) return;
      await store.put<UsagePeriod>(USAGE_TABLE, `${rec.id}/${String(at).padStart(15, '0')}`, {
        account: rec.account,
        region: rec.region,
        instance: rec.name,
        instanceId: rec.id,
        bundleId: rec.bundleId,
        startedAt: at,
      });
    },
    async stopped(rec, at) {
      const p = await open(rec.id);
      if (p) await store.put<UsagePeriod>(USAGE_TABLE, p.key, { ...p.value, stoppedAt: at });
    },
  };
}
