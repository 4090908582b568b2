/**
 * Usage plan quotas: requests counted per plan, API key and UTC day, persisted (a quota
 * survives a restart), and the quota period a day belongs to.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
 */
import type { QuotaSettings } from '../../api/apigateway/types.js';
import type { MetadataOps, MetadataStore } from '../../storage/types.js';
import { type Scope, scopeKey, T } from './store.js';

const DAY = 86_400_000;

export const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export const usageKey = (scope: Scope, planId: string, keyId: string, day: string): string =>
  `${scopeKey(scope)}:${planId}:${keyId}:${day}`;

/**
 * The first day of the quota period holding `ms`: the day itself, the week's Monday (the
 * ISO week AWS counts in), or the first of the month; `offset` days later.
 */
export function periodStart(quota: QuotaSettings, ms: number): number {
  const d = new Date(Math.floor(ms / DAY) * DAY);
  const offset = (quota.offset ?? 0) * DAY;
  if (quota.period === 'WEEK') {
    const back = (d.getUTCDay() + 6) % 7;
    const start = d.getTime() - back * DAY + offset;
    return start > ms ? start - 7 * DAY : start;
  }
  if (quota.period === 'MONTH') {
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) + offset;
    return start > ms ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1) + offset : start;
  }
  return d.getTime();
}

/** Requests counted for one key in a plan from `from` (a day start) through `to`. */
export async function usedSince(
  ops: MetadataOps,
  scope: Scope,
  planId: string,
  keyId: string,
  from: number,
  to: number,
): Promise<number> {
  const rows = await ops.list<number>(T.usage, {
    prefix: `${scopeKey(scope)}:${planId}:${keyId}:`,
    after: usageKey(scope, planId, keyId, dayOf(from - DAY)) + '\uffff',
    before: usageKey(scope, planId, keyId, dayOf(to)) + '\uffff',
  });
  return rows.reduce((n, r) => n + r.value, 0);
}

/**
 * Counts requests against quotas. The period's count is read once, then kept in memory
 * beside the stored per-day rows it writes through.
 */
export class UsageMeter {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly store: MetadataStore,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts one request for `keyId` in the plan unless that would pass the quota:
   * false when the quota is used up (AWS's 429 "Limit Exceeded").
   */
  async take(scope: Scope, planId: string, keyId: string, quota?: QuotaSettings): Promise<boolean> {
    const now = this.now();
    const day = dayOf(now);
    const start = quota ? periodStart(quota, now) : Math.floor(now / DAY) * DAY;
    const memo = `${scopeKey(scope)}:${planId}:${keyId}:${start}`;
    let used = this.counts.get(memo);
    if (used === undefined) {
      used = await usedSince(this.store, scope, planId, keyId, start, now);
    }
    if (quota?.limit !== undefined && used >= quota.limit) {
      this.counts.set(memo, used);
      return false;
    }
    this.counts.set(memo, used + 1);
    const key = usageKey(scope, planId, keyId, day);
    await this.store.transaction(async (tx) => {
      await tx.put(T.usage, key, ((await tx.get<number>(T.usage, key)) ?? 0) + 1);
    });
    return true;
  }

  /** Forgets the in-memory counts (UpdateUsage, a changed plan, a reset). */
  clear(): void {
    this.counts.clear();
  }
}
