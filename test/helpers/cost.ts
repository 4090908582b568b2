/**
 * Reading the bill in tests without depending on the wall clock: Cost Explorer buckets
 * usage by UTC day, and a test run can straddle midnight (its usage then lands on two
 * days). A test server's state is ephemeral, so the days around now hold this run's
 * usage only: summed over them, the figures are the run's whatever the time.
 */
import {
  GetCostAndUsageCommand,
  type CostExplorerClient,
  type Expression,
} from '@aws-sdk/client-cost-explorer';

export const DAY_MS = 86_400_000;
/** The UTC day of `t` as Cost Explorer's TimePeriod writes it (YYYY-MM-DD). */
export const day = (t: number): string => new Date(t).toISOString().slice(0, 10);

export interface Usage {
  quantity: number;
  cost: number;
}

/** Usage quantity and unblended cost per usage type, yesterday through tomorrow (UTC). */
export async function usageByType(
  ce: CostExplorerClient,
  filter?: Expression,
): Promise<Map<string, Usage>> {
  const now = Date.now();
  const out = await ce.send(
    new GetCostAndUsageCommand({
      TimePeriod: { Start: day(now - DAY_MS), End: day(now + 2 * DAY_MS) },
      Granularity: 'DAILY',
      Metrics: ['UnblendedCost', 'UsageQuantity'],
      GroupBy: [{ Type: 'DIMENSION', Key: 'USAGE_TYPE' }],
      ...(filter && { Filter: filter }),
    }),
  );
  const byType = new Map<string, Usage>();
  for (const period of out.ResultsByTime ?? []) {
    for (const g of period.Groups ?? []) {
      const type = g.Keys?.[0] ?? '';
      const u = byType.get(type) ?? { quantity: 0, cost: 0 };
      u.quantity += Number(g.Metrics?.UsageQuantity?.Amount ?? 0);
      u.cost += Number(g.Metrics?.UnblendedCost?.Amount ?? 0);
      byType.set(type, u);
    }
  }
  return byType;
}

/**
 * For tests that compare one day's or one month's figures from several sources: when
 * midnight UTC is less than `marginMs` away, waits until it has passed (said on stderr),
 * so the test does not straddle a day (or a month) boundary.
 */
export async function awayFromMidnightUtc(marginMs: number): Promise<void> {
  const now = Date.now();
  const midnight = Math.ceil(now / DAY_MS) * DAY_MS;
  if (midnight - now >= marginMs) return;
  const waitMs = midnight - now + 1000;
  process.stderr.write(`# waiting ${Math.ceil(waitMs / 1000)} s for midnight UTC to pass\n`);
  await new Promise((r) => setTimeout(r, waitMs));
}
