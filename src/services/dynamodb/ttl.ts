/**
 * Time to Live: items whose TTL attribute (a Number, epoch seconds) is in the past are
 * deleted in the background, each in its own transaction, with a stream record that names
 * DynamoDB as the deleter. AWS deletes expired items "within a few days"; Stratus sweeps
 * every STRATUS_DYNAMODB_TTL_INTERVAL_SECONDS (default 60). As on AWS, an expired item stays
 * readable until it is deleted, and a TTL value more than five years in the past is ignored.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html
 */
import type { MetadataStore } from '../../storage/types.js';
import { itemStoreKey, writeItem } from './common.js';
import { ITEMS, itemsPrefix, TABLES, type TableRecord, tableKey } from './store.js';
import type { Item } from './values.js';

const FIVE_YEARS_S = 5 * 365 * 24 * 3600;
const PAGE = 500;

function expired(item: Item, attribute: string, nowS: number): boolean {
  const v = item[attribute];
  if (v?.N === undefined) return false;
  const at = Number(v.N);
  return Number.isFinite(at) && at < nowS && at > nowS - FIVE_YEARS_S;
}

/** Deletes the expired items of every table with TTL enabled; resolves how many went. */
export async function sweepExpired(store: MetadataStore, nowMs: number): Promise<number> {
  const nowS = nowMs / 1000;
  let deleted = 0;
  const tables = await store.list<TableRecord>(TABLES);
  for (const { value: t } of tables) {
    const ttl = t.ttl;
    if (!ttl?.enabled) continue;
    let after: string | undefined;
    for (;;) {
      const rows = await store.list<Item>(ITEMS, { prefix: itemsPrefix(t), after, limit: PAGE });
      for (const row of rows) {
        if (!expired(row.value, ttl.attribute, nowS)) continue;
        const gone = await store.transaction(async (tx) => {
          // Again inside the transaction: the table or the item may have changed since.
          const table = await tx.get<TableRecord>(TABLES, tableKey(t, t.name));
          if (!table || table.id !== t.id || !table.ttl?.enabled) return false;
          const item = await tx.get<Item>(ITEMS, itemStoreKey(table, row.value));
          if (!item || !expired(item, table.ttl.attribute, nowS)) return false;
          await writeItem(tx, table, item, undefined, true);
          return true;
        });
        if (gone) deleted++;
      }
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1].key;
    }
  }
  return deleted;
}

/** The background sweep, started with the server. */
export class TtlSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly intervalMs: number,
    private readonly warn: (msg: string, err: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = sweepExpired(this.store, Date.now())
        .catch((err: unknown) => this.warn('Time to Live sweep failed', err))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

/** STRATUS_DYNAMODB_TTL_INTERVAL_SECONDS, default 60. */
export function ttlIntervalMs(env: NodeJS.ProcessEnv): number {
  const n = Number(env.STRATUS_DYNAMODB_TTL_INTERVAL_SECONDS);
  return (Number.isFinite(n) && n > 0 ? n : 60) * 1000;
}
