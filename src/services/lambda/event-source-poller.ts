/**
 * The poller behind event source mappings: reads each enabled mapping's DynamoDB stream
 * (four times a second when idle, as Lambda polls a shard), filters the records, invokes
 * the function synchronously with `{"Records": [...]}` as AWS sends it, and moves the
 * mapping's position on only once the function succeeded: delivery is at least once and
 * in order, and the position survives a restart. A failing batch is retried (with a
 * growing pause) until MaximumRetryAttempts, if set, is used up; with
 * ReportBatchItemFailures the batch resumes at the first failed record.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 */
import type { MetadataStore } from '../../storage/types.js';
import type { DynamoStreamSource, StoredStreamRecord } from '../dynamodb/plugin.js';
import { matches, parsePattern, type Pattern } from './event-filter.js';
import { MAPPINGS, type MappingRecord, mappingKey } from './event-source-mappings.js';
import type { FunctionInvoker } from './invoke/service-invoker.js';

const IDLE_MS = 250;
const MAX_BACKOFF_MS = 10_000;

export class EventSourcePoller {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = true;
  private readonly retryAt = new Map<string, number>();

  constructor(
    private readonly store: MetadataStore,
    private readonly streams: DynamoStreamSource,
    private readonly invoker: FunctionInvoker,
    private readonly warn: (msg: string, err: unknown) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running) await new Promise((r) => setTimeout(r, 10));
  }

  /** A mapping changed: look again now. */
  wake(): void {
    if (!this.stopped && !this.running) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    let busy = false;
    try {
      const rows = await this.store.list<MappingRecord>(MAPPINGS);
      for (const { value: m } of rows) {
        if (this.stopped) break;
        if (!m.enabled || (this.retryAt.get(m.uuid) ?? 0) > Date.now()) continue;
        try {
          busy = (await this.process(m)) || busy;
        } catch (err) {
          this.warn(`event source mapping ${m.uuid} failed`, err);
        }
      }
    } catch (err) {
      this.warn('event source mappings could not be read', err);
    } finally {
      this.running = false;
    }
    this.schedule(busy ? 0 : IDLE_MS);
  }

  /** Handles one batch of a mapping; true when it made progress. */
  private async process(m: MappingRecord): Promise<boolean> {
    const stream = await this.streams.get(m.eventSourceArn);
    if (!stream) {
      await this.save(m, { lastProcessingResult: 'PROBLEM: Stream not found' });
      return false;
    }
    const records = await this.streams.read(stream, m.position, m.batchSize);
    if (records.length === 0) return false;
    const last = records[records.length - 1].dynamodb.SequenceNumber;
    const kept = records.filter((r) => this.keep(m, r));
    if (kept.length === 0) {
      await this.save(m, { position: last, attempts: 0 });
      return true;
    }
    const payload = {
      Records: kept.map((r) => ({ ...r, eventSourceARN: m.eventSourceArn })),
    };
    let ok = false;
    let response: unknown;
    try {
      const out = await this.invoker.invoke(
        m.account,
        m.region,
        m.functionArn,
        Buffer.from(JSON.stringify(payload)),
      );
      ok = out.ok;
      if (ok) response = parseJson(out.payload);
    } catch (err) {
      this.warn(`event source mapping ${m.uuid} could not invoke ${m.functionArn}`, err);
    }
    if (ok) {
      const failed = m.functionResponseTypes.includes('ReportBatchItemFailures')
        ? firstFailure(response, kept)
        : undefined;
      if (failed === undefined) {
        this.retryAt.delete(m.uuid);
        await this.save(m, { position: last, attempts: 0, lastProcessingResult: 'OK' });
        return true;
      }
      // Resume at the first failed record: everything before it is done.
      const at = records.findIndex((r) => r.dynamodb.SequenceNumber === failed);
      const before = at > 0 ? records[at - 1].dynamodb.SequenceNumber : m.position;
      if (before !== m.position) {
        await this.save(m, { position: before, attempts: 0, lastProcessingResult: 'OK' });
        return true;
      }
    }
    const attempts = m.attempts + 1;
    if (m.maxRetryAttempts >= 0 && attempts > m.maxRetryAttempts) {
      // Retries used up: the batch is skipped (an OnFailure destination is stored, not sent).
      this.retryAt.delete(m.uuid);
      await this.save(m, {
        position: last,
        attempts: 0,
        lastProcessingResult: 'PROBLEM: Function call failed',
      });
      return true;
    }
    this.retryAt.set(m.uuid, Date.now() + Math.min(MAX_BACKOFF_MS, 500 * 2 ** (attempts - 1)));
    await this.save(m, { attempts, lastProcessingResult: 'PROBLEM: Function call failed' });
    return false;
  }

  private keep(m: MappingRecord, r: StoredStreamRecord): boolean {
    if (
      m.maxRecordAge >= 0 &&
      Date.now() / 1000 - r.dynamodb.ApproximateCreationDateTime > m.maxRecordAge
    ) {
      return false;
    }
    const filters = m.filterCriteria?.Filters ?? [];
    if (filters.length === 0) return true;
    return filters.some((f) => {
      let pattern: Pattern;
      try {
        pattern = parsePattern(f.Pattern ?? '');
      } catch {
        return false;
      }
      return matches(pattern, r);
    });
  }

  /** Writes the poller's fields onto the mapping as it is now (it may have been updated). */
  private async save(
    m: MappingRecord,
    change: Partial<Pick<MappingRecord, 'position' | 'attempts' | 'lastProcessingResult'>>,
  ): Promise<void> {
    await this.store.transaction(async (tx) => {
      const key = mappingKey(m.account, m.region, m.uuid);
      const current = await tx.get<MappingRecord>(MAPPINGS, key);
      if (!current) return;
      await tx.put(MAPPINGS, key, { ...current, ...change });
    });
  }
}

function parseJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** The sequence number of the first failed record a ReportBatchItemFailures answer names. */
function firstFailure(response: unknown, batch: StoredStreamRecord[]): string | undefined {
  const failures = (response as { batchItemFailures?: { itemIdentifier?: unknown }[] } | undefined)
    ?.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return undefined;
  const ids = new Set(failures.map((f) => String(f?.itemIdentifier)));
  return (
    batch.find((r) => ids.has(r.dynamodb.SequenceNumber))?.dynamodb.SequenceNumber ??
    batch[0].dynamodb.SequenceNumber
  );
}
