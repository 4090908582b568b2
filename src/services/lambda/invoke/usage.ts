/**
 * Usage meters: one row per invocation that ran, which a bill is computed from.
 * https://aws.amazon.com/lambda/pricing/ — requests are counted, duration is "rounded up to
 * the nearest 1 ms" and multiplied by the memory configured; INIT is billed for these
 * runtimes ("billed duration … includes the time spent in the initialization phase").
 *
 * Rows are written off the invoke path: buffered, and every few milliseconds (and on stop)
 * each region's rows are committed as one batch, one stored item, so a warm invoke costs no
 * store write of its own (a row each cost the invoke path ~6% of its throughput); a crash
 * loses at most that last second of usage. Each
 * flushed row is also counted into the bill's meter (src/billing/meter.ts) as AWS's usage
 * types: `Request`, `Lambda-GB-Second` (memory × billed duration) and, for /tmp beyond the
 * free 512 MB, `Lambda-Storage-Gb-Second`; Arm functions' carry `-ARM`. With
 * STRATUS_METERING=off nothing is recorded (the benchmark's baseline).
 */
import type { Architecture } from '../../../api/lambda/types.js';
import { HOUR_MS, type Meter } from '../../../billing/meter.js';
import { buildArn } from '../../../shared/arn.js';
import type { MetadataStore } from '../../../storage/types.js';
import type { InvokeOutcomeKind } from '../execution/types.js';

export const USAGE_TABLE = 'lambda_usage';

/** How the invocation reached the function. */
export type UsageSource = 'RequestResponse' | 'Event' | 'FunctionUrl' | 'ResponseStream';

export interface UsageRecord {
  account: string;
  region: string;
  functionName: string;
  /** `$LATEST` or the version number that ran. */
  version: string;
  requestId: string;
  /** Epoch milliseconds when the invocation ended. */
  timestamp: number;
  durationMs: number;
  /** Rounded up to the ms, INIT included on a cold start. */
  billedDurationMs: number;
  /** Set on a cold start. */
  initDurationMs?: number;
  memoryMb: number;
  /** /tmp configured (512 MB is free). */
  ephemeralStorageMb?: number;
  architecture: Architecture;
  /** Always 1: one request billed. */
  requests: 1;
  outcome: InvokeOutcomeKind;
  source: UsageSource;
}

/** Rows wait this long at most before they are stored (readers flush first). */
const DEFAULT_FLUSH_MS = 1000;

const usageKey = (account: string, region: string, timestamp: number, requestId?: string) =>
  `${account}:${region}:${String(Math.max(0, timestamp)).padStart(15, '0')}:${requestId ?? ''}`;

/**
 * One flush's rows of a region, keyed by its first row's time and request id: the scope
 * once, then a line of tab-separated fields per row. Function names, versions and request
 * ids hold no tabs or newlines, and one string is what JSON encodes fastest: objects or
 * tuples per row cost the flush 3 µs a row (encoding alone), a measurable share of a warm
 * invoke.
 */
interface UsageBatch {
  account: string;
  region: string;
  rows: string;
}

function encodeRow(r: UsageRecord): string {
  return (
    r.functionName +
    '\t' +
    r.version +
    '\t' +
    r.requestId +
    '\t' +
    r.timestamp +
    '\t' +
    r.durationMs +
    '\t' +
    r.billedDurationMs +
    '\t' +
    (r.initDurationMs ?? '') +
    '\t' +
    r.memoryMb +
    '\t' +
    (r.ephemeralStorageMb ?? '') +
    '\t' +
    r.architecture +
    '\t' +
    r.outcome +
    '\t' +
    r.source
  );
}

function decodeRows(b: UsageBatch): UsageRecord[] {
  return b.rows.split('\n').map((line) => {
    const f = line.split('\t');
    return {
      account: b.account,
      region: b.region,
      functionName: f[0],
      version: f[1],
      requestId: f[2],
      timestamp: Number(f[3]),
      durationMs: Number(f[4]),
      billedDurationMs: Number(f[5]),
      ...(f[6] !== '' && { initDurationMs: Number(f[6]) }),
      memoryMb: Number(f[7]),
      ...(f[8] !== '' && { ephemeralStorageMb: Number(f[8]) }),
      architecture: f[9] as Architecture,
      requests: 1,
      outcome: f[10] as InvokeOutcomeKind,
      source: f[11] as UsageSource,
    };
  });
}

/** How much later than its batch's first row a row may end (the buffer's span, with room). */
const BATCH_SPAN_MS = 3_600_000;

/** Rows of stored items: batches, or the single rows earlier versions wrote. */
function unbatch(items: { value: UsageBatch | UsageRecord }[]): UsageRecord[] {
  const rows = items.flatMap(({ value }) => ('rows' in value ? decodeRows(value) : [value]));
  return rows.sort((a, b) => a.timestamp - b.timestamp);
}

export class UsageMeter {
  private buffer: UsageRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: MetadataStore,
    private readonly meter: Meter,
    private readonly onError: (err: unknown) => void,
    private readonly flushMs = DEFAULT_FLUSH_MS,
  ) {}

  record(row: UsageRecord): void {
    if (!this.meter.enabled) return;
    this.buffer.push(row);
    if (this.timer === null) {
      this.timer = setTimeout(() => void this.flush(), this.flushMs);
      this.timer.unref();
    }
  }

  /** Commits every buffered row; resolves once they are stored. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const rows = this.buffer;
    if (rows.length === 0) return this.writing;
    this.buffer = [];
    countUsage(this.meter, rows);
    this.writing = this.writing.then(() =>
      this.store
        .transaction(async (tx) => {
          // A batch per region of an account (a flush rarely sees more than one).
          const batches: { first: UsageRecord; lines: string[] }[] = [];
          for (const r of rows) {
            let batch = batches.find(
              (b) => b.first.account === r.account && b.first.region === r.region,
            );
            if (!batch) batches.push((batch = { first: r, lines: [] }));
            batch.lines.push(encodeRow(r));
          }
          for (const { first, lines } of batches) {
            const key = usageKey(first.account, first.region, first.timestamp, first.requestId);
            await tx.put<UsageBatch>(USAGE_TABLE, key, {
              account: first.account,
              region: first.region,
              rows: lines.join('\n'),
            });
          }
        })
        .catch(this.onError),
    );
    return this.writing;
  }

  /** Rows of one region of an account, oldest first; `since` (epoch ms) keeps later ones. */
  async list(account: string, region: string, since?: number): Promise<UsageRecord[]> {
    await this.flush();
    const prefix = `${account}:${region}:`;
    const items = await this.store.list<UsageBatch | UsageRecord>(USAGE_TABLE, {
      prefix,
      ...(since !== undefined && { after: usageKey(account, region, since - BATCH_SPAN_MS) }),
    });
    const rows = unbatch(items);
    return since === undefined ? rows : rows.filter((r) => r.timestamp >= since);
  }

  /** Rows of every region of an account that ended in [from, to), oldest region first. */
  async listAccount(account: string, from: number, to: number): Promise<UsageRecord[]> {
    await this.flush();
    const items = await this.store.list<UsageBatch | UsageRecord>(USAGE_TABLE, {
      prefix: `${account}:`,
    });
    return unbatch(items).filter((r) => r.timestamp >= from && r.timestamp < to);
  }

  /** Drops what was not written yet (the store was reset). */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.buffer = [];
  }
}

/** Free ephemeral storage: "512 MB … at no additional cost" (https://aws.amazon.com/lambda/pricing/). */
const FREE_STORAGE_MB = 512;

/**
 * Invocations as AWS bills them (usage types in src/billing/price-table.ts), summed per
 * function, architecture and hour first: the meter sees one count per usage type of each.
 */
export function countUsage(meter: Meter, rows: readonly UsageRecord[]): void {
  interface Sum {
    r: UsageRecord;
    hour: number;
    requests: number;
    gbSeconds: number;
    storageGbSeconds: number;
  }
  // By function, then a short scan: no key string built per row.
  const byFunction = new Map<string, Sum[]>();
  for (const r of rows) {
    const hour = r.timestamp - (r.timestamp % HOUR_MS);
    let sums = byFunction.get(r.functionName);
    if (!sums) byFunction.set(r.functionName, (sums = []));
    let sum = sums.find(
      (x) =>
        x.hour === hour &&
        x.r.account === r.account &&
        x.r.region === r.region &&
        x.r.architecture === r.architecture,
    );
    if (!sum) sums.push((sum = { r, hour, requests: 0, gbSeconds: 0, storageGbSeconds: 0 }));
    const seconds = r.billedDurationMs / 1000;
    sum.requests += r.requests;
    sum.gbSeconds += (r.memoryMb / 1024) * seconds;
    const extraStorageMb = (r.ephemeralStorageMb ?? FREE_STORAGE_MB) - FREE_STORAGE_MB;
    if (extraStorageMb > 0) sum.storageGbSeconds += (extraStorageMb / 1024) * seconds;
  }
  for (const sums of byFunction.values()) {
    for (const { r, requests, gbSeconds, storageGbSeconds } of sums) {
      const arm = r.architecture === 'arm64' ? '-ARM' : '';
      const base = {
        account: r.account,
        region: r.region,
        service: 'AWSLambda' as const,
        resource: buildArn('lambda', r.region, r.account, `function:${r.functionName}`),
        at: r.timestamp,
      };
      meter.count({ ...base, usageType: `Request${arm}`, quantity: requests });
      meter.count({ ...base, usageType: `Lambda-GB-Second${arm}`, quantity: gbSeconds });
      if (storageGbSeconds > 0) {
        meter.count({ ...base, usageType: 'Lambda-Storage-Gb-Second', quantity: storageGbSeconds });
      }
    }
  }
}
