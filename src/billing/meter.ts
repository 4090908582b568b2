/**
 * The usage ledger every service records into, the way AWS bills it
 * (https://docs.aws.amazon.com/cur/latest/userguide/table-dictionary-line-item.html):
 *  - counted usage (requests, events, GB-seconds of a finished invocation) is summed per
 *    hour, resource and usage type, as a Cost and Usage Report's hourly line items are;
 *  - running usage (a Fargate task's vCPUs, a Lightsail instance, provisioned concurrency,
 *    stored bytes) is a level that holds from one change to the next, which the bill
 *    integrates over time in the usage type's unit (hours, GB-months, GB-seconds).
 *
 * The `meter` link (services/links.ts, provided by the gateway) is the whole interface a
 * service needs: `count` and `level`, both synchronous and buffered. Rows are committed in
 * one transaction every second at most, off the request path; a service records and the
 * price table (price-table.ts) does the rest. Usage types are the table's, without AWS's
 * region prefix (the bill adds it).
 *
 * Example: API Gateway counting one REST request of API `abc123`:
 *   deps.links.meter.count({ account, region, service: 'AmazonApiGateway',
 *     usageType: 'ApiGatewayRequest', resource: apiArn, quantity: 1 });
 * Lightsail starting instance `web-1` of bundle `nano_3_0` (one instance from now on):
 *   meter.level({ ..., service: 'AmazonLightsail', usageType: 'Bundle:0.5GB',
 *     resource: instanceArn, series: instanceArn, value: 1, at: Date.now() });
 * and `value: 0` when it is deleted.
 */
import type { MetadataStore } from '../storage/types.js';

/** AWS's service codes (Cost Explorer's SERVICE_CODE dimension) that Stratus bills. */
export type ServiceCode =
  | 'AWSLambda'
  | 'AmazonECS'
  | 'AmazonECR'
  | 'AmazonS3'
  | 'AmazonApiGateway'
  | 'AWSEvents'
  | 'AmazonLightsail'
  | 'AmazonEC2';

export interface Usage {
  account: string;
  region: string;
  service: ServiceCode;
  /** The price table's usage type, e.g. 'Request', 'Lambda-GB-Second', 'Requests-Tier1'. */
  usageType: string;
  /** What the usage is billed on (an ARN: function, task definition family, bucket, API). */
  resource: string;
  quantity: number;
  /** Epoch ms (default: now). */
  at?: number;
}

export interface Level {
  account: string;
  region: string;
  service: ServiceCode;
  usageType: string;
  resource: string;
  /** One series per thing that runs or stores (a task ARN, an instance, a bucket). */
  series: string;
  /** Units held from `at` on (vCPUs, GB, instances; GB for storage); 0 ends a run. */
  value: number;
  /** Epoch ms the level starts at. Recording the same series and `at` again is a no-op. */
  at: number;
  /** A run shorter than this is billed this long (Fargate: "a one-minute minimum"). */
  minimumSeconds?: number;
}

/** What services call: the `meter` link. */
export interface Meter {
  /** False with STRATUS_METERING=off: callers may skip work that only feeds the meter. */
  readonly enabled: boolean;
  count(usage: Usage): void;
  level(level: Level): void;
}

/** One hour of one usage type of one resource. */
export interface HourRow {
  account: string;
  region: string;
  service: ServiceCode;
  usageType: string;
  resource: string;
  /** Epoch ms of the hour's start. */
  hour: number;
  quantity: number;
}

/** What the bill reads. */
export interface UsageReader {
  /** Hour rows of an account whose hour is in [from, to). */
  hours(account: string, from: number, to: number): Promise<HourRow[]>;
  /** Every level change of an account. */
  levelChanges(account: string): Promise<Level[]>;
}

export const HOUR_MS = 3_600_000;
export const USAGE_TABLE = 'billing_usage';
export const LEVEL_TABLE = 'billing_levels';

const pad = (n: number) => String(Math.max(0, Math.floor(n))).padStart(15, '0');
const hourKey = (r: Omit<HourRow, 'quantity'>) =>
  `${r.account}|${pad(r.hour)}|${r.region}|${r.service}|${r.usageType}|${r.resource}`;
const levelKey = (l: Level) => `${l.account}|${l.series}|${pad(l.at)}|${l.usageType}`;

/** Counts wait this long at most before they are stored (readers flush first). */
const DEFAULT_FLUSH_MS = 1000;

/** `STRATUS_METERING=off` turns metering off (the benchmark's baseline). */
export function meteringEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.STRATUS_METERING !== 'off';
}

export class UsageLedger implements Meter, UsageReader {
  private counts = new Map<string, HourRow>();
  private levels: Level[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: MetadataStore,
    private readonly onError: (err: unknown) => void,
    readonly enabled = true,
    private readonly flushMs = DEFAULT_FLUSH_MS,
  ) {}

  count(u: Usage): void {
    if (!this.enabled || !(u.quantity > 0)) return;
    const at = u.at ?? Date.now();
    const row: HourRow = {
      account: u.account,
      region: u.region,
      service: u.service,
      usageType: u.usageType,
      resource: u.resource,
      hour: at - (at % HOUR_MS),
      quantity: u.quantity,
    };
    const key = hourKey(row);
    const held = this.counts.get(key);
    if (held) held.quantity += u.quantity;
    else this.counts.set(key, row);
    this.schedule();
  }

  level(l: Level): void {
    if (!this.enabled || !(l.value >= 0)) return;
    this.levels.push({ ...l });
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Commits what is buffered; resolves once it is stored. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const counts = [...this.counts.entries()];
    const levels = this.levels;
    if (counts.length === 0 && levels.length === 0) return this.writing;
    this.counts = new Map();
    this.levels = [];
    this.writing = this.writing.then(() =>
      this.store
        .transaction(async (tx) => {
          for (const [key, row] of counts) {
            const held = await tx.get<HourRow>(USAGE_TABLE, key);
            await tx.put(USAGE_TABLE, key, {
              ...row,
              quantity: row.quantity + (held?.quantity ?? 0),
            });
          }
          for (const l of levels) await tx.put(LEVEL_TABLE, levelKey(l), l);
        })
        .catch(this.onError),
    );
    return this.writing;
  }

  async hours(account: string, from: number, to: number): Promise<HourRow[]> {
    await this.flush();
    const rows = await this.store.list<HourRow>(USAGE_TABLE, {
      prefix: `${account}|`,
      after: `${account}|${pad(from - 1)}|\uffff`,
      before: `${account}|${pad(to)}|`,
    });
    return rows.map((r) => r.value);
  }

  async levelChanges(account: string): Promise<Level[]> {
    await this.flush();
    const rows = await this.store.list<Level>(LEVEL_TABLE, { prefix: `${account}|` });
    return rows.map((r) => r.value);
  }

  /** Drops what was not written yet and waits for writes under way (before a store reset). */
  async reset(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.counts = new Map();
    this.levels = [];
    await this.writing;
  }
}
