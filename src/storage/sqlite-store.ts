import Database from 'better-sqlite3';
import { decodeDocument, encodeDocument } from './json-codec.js';
import { compareKeys, prefixUpperBound } from './key-order.js';
import type { Item, ListOptions, MetadataOps, MetadataStore } from './types.js';
import { BoundedMap } from '../shared/bounded-map.js';

/**
 * The embedded MetadataStore: one SQLite file, one connection, every document a JSON text
 * row (see json-codec.ts for how Dates and Buffers round-trip).
 *
 * Durability: WAL journal with synchronous=NORMAL. A commit is appended to the WAL before
 * the call resolves, so it survives a crash or `kill -9` of the process; only an OS crash
 * or power loss can lose the last commits before a checkpoint (never corrupt the file).
 * https://www.sqlite.org/wal.html, https://www.sqlite.org/pragma.html#pragma_synchronous
 *
 * Ordering: keys compare with SQLite's BINARY collation, i.e. by UTF-8 bytes (= Unicode
 * code point order; see key-order.ts), and every list/count/deletePrefix is a range scan of
 * the (tbl, key) index.
 */

/** One schema step; MIGRATIONS[i] upgrades `PRAGMA user_version` i to i + 1. */
export type Migration = (db: Database.Database) => void;

/**
 * Ordered, append-only: never edit a shipped step, add a new one. Each open runs the missing
 * steps and bumps user_version in one transaction.
 */
export const MIGRATIONS: readonly Migration[] = [
  // 1. A rowid table plus a unique (tbl, key) index rather than a WITHOUT ROWID table keyed
  //    by (tbl, key): WITHOUT ROWID b-trees keep whole rows in interior pages and degrade
  //    once rows pass ~1/20 of a page (https://www.sqlite.org/withoutrowid.html#when_to_use_without_rowid).
  //    Stored documents are often 1-2 KB; measured with 200k such rows, the rowid layout
  //    is ~10x faster for get/put and less than half the size.
  (db) => {
    db.exec(`
      CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        tbl TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL
      );
      CREATE UNIQUE INDEX items_by_key ON items (tbl, key);
    `);
  },
];

export interface SqliteStoreOptions {
  /** Schema steps to apply (tests pass older/newer lists). Defaults to MIGRATIONS. */
  migrations?: readonly Migration[];
  /**
   * Keep the database file locked for the connection's lifetime (locking_mode=EXCLUSIVE),
   * so a second process opening it fails with SQLITE_BUSY; the kernel drops the lock when
   * the process dies. Default true. Ignored for ':memory:'.
   */
  exclusive?: boolean;
}

/** Runs the missing migrations in one IMMEDIATE transaction; refuses a newer schema. */
export function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > migrations.length) {
      throw new Error(
        `database schema version ${current} is newer than this Stratus supports (${migrations.length}); upgrade Stratus`,
      );
    }
    for (let version = current; version < migrations.length; version++) {
      (migrations[version] as Migration)(db);
    }
    if (current !== migrations.length) db.pragma(`user_version = ${migrations.length}`);
  }).immediate();
}

/** The SQL of list(): index range scan, `tbl = ? AND key >(=) ? [AND key < ?]`. */
export function listSql(
  lowerInclusive: boolean,
  hasUpper: boolean,
  reverse: boolean,
  limit: number,
): string {
  return (
    `SELECT key, value FROM items WHERE tbl = ? AND key ${lowerInclusive ? '>=' : '>'} ?` +
    (hasUpper ? ' AND key < ?' : '') +
    ` ORDER BY key ${reverse ? 'DESC' : 'ASC'}` +
    (limit >= 0 ? ` LIMIT ${limit}` : '')
  );
}

/**
 * The LIMIT is written into the SQL rather than bound: a bound `LIMIT ?` measured 5–8×
 * slower per call (bench/, DescribeLogGroups). Callers use few distinct limits, so the
 * statements are cached, and the cache is bounded for callers that don't.
 */
const MAX_LIST_STATEMENTS = 256;

type Row = { key: string; value: unknown };

/** The synchronous operations on the one connection; the async layers decide when to call. */
class SyncOps {
  private readonly getStmt: Database.Statement<[string, string], string>;
  private readonly putStmt: Database.Statement<[string, string, string]>;
  private readonly insertStmt: Database.Statement<[string, string, string]>;
  private readonly deleteStmt: Database.Statement<[string, string]>;
  private readonly countFrom: Database.Statement<[string, string], number>;
  private readonly countRange: Database.Statement<[string, string, string], number>;
  private readonly deleteFrom: Database.Statement<[string, string]>;
  private readonly deleteRange: Database.Statement<[string, string, string]>;
  private readonly deleteAll: Database.Statement<[]>;
  /** Keyed by `${lowerInclusive}${hasUpper}${reverse}:${limit}`. */
  private readonly listStmts = new BoundedMap<string, Database.Statement<unknown[], Row>>(
    MAX_LIST_STATEMENTS,
  );
  readonly begin: Database.Statement<[]>;
  readonly commit: Database.Statement<[]>;
  readonly rollback: Database.Statement<[]>;

  constructor(readonly db: Database.Database) {
    this.getStmt = db.prepare<[string, string], string>(
      'SELECT value FROM items WHERE tbl = ? AND key = ?',
    );
    this.getStmt.pluck();
    this.putStmt = db.prepare(
      'INSERT INTO items (tbl, key, value) VALUES (?, ?, ?) ' +
        'ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value',
    );
    this.insertStmt = db.prepare(
      'INSERT INTO items (tbl, key, value) VALUES (?, ?, ?) ON CONFLICT (tbl, key) DO NOTHING',
    );
    this.deleteStmt = db.prepare('DELETE FROM items WHERE tbl = ? AND key = ?');
    this.countFrom = db.prepare<[string, string], number>(
      'SELECT count(*) FROM items WHERE tbl = ? AND key >= ?',
    );
    this.countFrom.pluck();
    this.countRange = db.prepare<[string, string, string], number>(
      'SELECT count(*) FROM items WHERE tbl = ? AND key >= ? AND key < ?',
    );
    this.countRange.pluck();
    this.deleteFrom = db.prepare('DELETE FROM items WHERE tbl = ? AND key >= ?');
    this.deleteRange = db.prepare('DELETE FROM items WHERE tbl = ? AND key >= ? AND key < ?');
    this.deleteAll = db.prepare('DELETE FROM items');
    this.begin = db.prepare('BEGIN IMMEDIATE');
    this.commit = db.prepare('COMMIT');
    this.rollback = db.prepare('ROLLBACK');
  }

  get<T>(table: string, key: string): T | undefined {
    const text = this.getStmt.get(table, key);
    return text === undefined ? undefined : decodeDocument<T>(text);
  }

  put(table: string, key: string, value: unknown): void {
    this.putStmt.run(table, key, encodeDocument(value));
  }

  insert(table: string, key: string, value: unknown): boolean {
    return this.insertStmt.run(table, key, encodeDocument(value)).changes === 1;
  }

  delete(table: string, key: string): boolean {
    return this.deleteStmt.run(table, key).changes > 0;
  }

  deletePrefix(table: string, prefix: string): number {
    const upper = prefixUpperBound(prefix);
    const info =
      upper === undefined
        ? this.deleteFrom.run(table, prefix)
        : this.deleteRange.run(table, prefix, upper);
    return info.changes;
  }

  count(table: string, prefix = ''): number {
    const upper = prefixUpperBound(prefix);
    return upper === undefined
      ? this.countFrom.get(table, prefix)!
      : this.countRange.get(table, prefix, upper)!;
  }

  list<T>(table: string, options: ListOptions | undefined): Item<T>[] {
    let lower = '';
    let lowerInclusive = true;
    let upper: string | undefined;
    let reverse = false;
    let limit = -1; // SQLite: a negative LIMIT means no limit
    if (options !== undefined) {
      const { prefix, after, before } = options;
      if (prefix !== undefined && prefix !== '') {
        lower = prefix;
        upper = prefixUpperBound(prefix);
      }
      if (after !== undefined && compareKeys(after, lower) >= 0) {
        lower = after;
        lowerInclusive = false;
      }
      if (before !== undefined && (upper === undefined || compareKeys(before, upper) < 0)) {
        upper = before;
      }
      reverse = options.reverse === true;
      if (options.limit !== undefined) {
        if (!Number.isInteger(options.limit) || options.limit < 0) {
          throw new RangeError(`list limit must be a non-negative integer, got ${options.limit}`);
        }
        limit = options.limit;
      }
    }
    const slot = `${+lowerInclusive}${+(upper !== undefined)}${+reverse}:${limit}`;
    let stmt = this.listStmts.get(slot);
    if (stmt === undefined) {
      stmt = this.db.prepare<unknown[], Row>(
        listSql(lowerInclusive, upper !== undefined, reverse, limit),
      );
      this.listStmts.set(slot, stmt);
    }
    const rows = upper === undefined ? stmt.all(table, lower) : stmt.all(table, lower, upper);
    // Decode in place: the row objects become the returned items.
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Row;
      row.value = decodeDocument(row.value as string);
    }
    return rows as Item<T>[];
  }

  reset(): void {
    this.deleteAll.run();
  }
}

/** The `tx` handed to a transaction body: runs directly on the connection, until it ends. */
class TransactionOps implements MetadataOps {
  finished = false;

  constructor(private readonly ops: SyncOps) {}

  private check(): void {
    if (this.finished) throw new Error('transaction already finished; use the store, not tx');
  }

  get<T>(table: string, key: string): Promise<T | undefined> {
    try {
      this.check();
      return Promise.resolve(this.ops.get<T>(table, key));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  put<T>(table: string, key: string, value: T): Promise<void> {
    try {
      this.check();
      this.ops.put(table, key, value);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  insert<T>(table: string, key: string, value: T): Promise<boolean> {
    try {
      this.check();
      return Promise.resolve(this.ops.insert(table, key, value));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  delete(table: string, key: string): Promise<boolean> {
    try {
      this.check();
      return Promise.resolve(this.ops.delete(table, key));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  deletePrefix(table: string, prefix: string): Promise<number> {
    try {
      this.check();
      return Promise.resolve(this.ops.deletePrefix(table, prefix));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  list<T>(table: string, options?: ListOptions): Promise<Item<T>[]> {
    try {
      this.check();
      return Promise.resolve(this.ops.list<T>(table, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  count(table: string, prefix?: string): Promise<number> {
    try {
      this.check();
      return Promise.resolve(this.ops.count(table, prefix));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/**
 * Concurrency: better-sqlite3 is synchronous, so a plain call runs at once and resolves with
 * its result. A transaction holds an in-process mutex from BEGIN IMMEDIATE to COMMIT/ROLLBACK
 * across the awaits of its body; while it is open, every other call (plain or transaction)
 * waits in one FIFO queue, so nobody observes uncommitted writes and no writes interleave.
 * Only `tx` proceeds inside the body: calling the store itself there would wait for the
 * transaction that is waiting for it (a deadlock), so never do that.
 */
export class SqliteMetadataStore implements MetadataStore {
  private readonly db: Database.Database;
  private readonly ops: SyncOps;
  private txOpen = false;
  private readonly waiting: (() => void)[] = [];
  private waitingHead = 0;

  /** `path` is a file, or ':memory:' for an ephemeral store. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    const db = new Database(path, { timeout: 0 });
    try {
      if (path !== ':memory:' && path !== '') {
        if (options.exclusive !== false) db.pragma('locking_mode = EXCLUSIVE');
        db.pragma('journal_mode = WAL');
        db.pragma('synchronous = NORMAL');
      }
      db.pragma('cache_size = -16384'); // KiB
      migrate(db, options.migrations ?? MIGRATIONS);
      this.ops = new SyncOps(db);
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
  }

  get<T>(table: string, key: string): Promise<T | undefined> {
    if (this.txOpen) return this.later(() => this.ops.get<T>(table, key));
    try {
      return Promise.resolve(this.ops.get<T>(table, key));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  put<T>(table: string, key: string, value: T): Promise<void> {
    if (this.txOpen) return this.later(() => this.ops.put(table, key, value));
    try {
      this.ops.put(table, key, value);
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  insert<T>(table: string, key: string, value: T): Promise<boolean> {
    if (this.txOpen) return this.later(() => this.ops.insert(table, key, value));
    try {
      return Promise.resolve(this.ops.insert(table, key, value));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  delete(table: string, key: string): Promise<boolean> {
    if (this.txOpen) return this.later(() => this.ops.delete(table, key));
    try {
      return Promise.resolve(this.ops.delete(table, key));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  deletePrefix(table: string, prefix: string): Promise<number> {
    if (this.txOpen) return this.later(() => this.ops.deletePrefix(table, prefix));
    try {
      return Promise.resolve(this.ops.deletePrefix(table, prefix));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  list<T>(table: string, options?: ListOptions): Promise<Item<T>[]> {
    if (this.txOpen) return this.later(() => this.ops.list<T>(table, options));
    try {
      return Promise.resolve(this.ops.list<T>(table, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  count(table: string, prefix?: string): Promise<number> {
    if (this.txOpen) return this.later(() => this.ops.count(table, prefix));
    try {
      return Promise.resolve(this.ops.count(table, prefix));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  transaction<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T> {
    if (!this.txOpen) return this.runTransaction(fn);
    return new Promise<T>((resolve, reject) => {
      this.waiting.push(() => {
        this.runTransaction(fn).then(resolve, reject);
      });
    });
  }

  reset(): Promise<void> {
    if (this.txOpen) return this.later(() => this.ops.reset());
    try {
      this.ops.reset();
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** SQLite's page cache (up to 16 MiB) back to the allocator: PRAGMA shrink_memory. */
  releaseMemory(): Promise<void> {
    const shrink = (): void => {
      if (this.db.open) this.db.pragma('shrink_memory');
    };
    if (this.txOpen) return this.later(shrink);
    shrink();
    return Promise.resolve();
  }

  close(): Promise<void> {
    const closeNow = (): void => {
      if (this.db.open) this.db.close();
    };
    if (this.txOpen) return this.later(closeNow);
    closeNow();
    return Promise.resolve();
  }

  /** Synchronous part up to `await fn(tx)` runs at once, so txOpen is set before anyone else runs. */
  private async runTransaction<T>(fn: (tx: MetadataOps) => Promise<T>): Promise<T> {
    this.txOpen = true;
    const tx = new TransactionOps(this.ops);
    try {
      this.ops.begin.run();
    } catch (err) {
      this.release(tx);
      throw err;
    }
    try {
      const result = await fn(tx);
      this.ops.commit.run();
      return result;
    } catch (err) {
      // A failed COMMIT (disk full, I/O error) can leave the transaction open.
      if (this.db.inTransaction) this.ops.rollback.run();
      throw err;
    } finally {
      this.release(tx);
    }
  }

  private release(tx: TransactionOps): void {
    tx.finished = true;
    this.txOpen = false;
    // Run waiters in arrival order until one of them opens the next transaction.
    while (!this.txOpen && this.waitingHead < this.waiting.length) {
      const next = this.waiting[this.waitingHead] as () => void;
      this.waiting[this.waitingHead++] = noop;
      next();
    }
    if (this.waitingHead === this.waiting.length) {
      this.waiting.length = 0;
      this.waitingHead = 0;
    }
  }

  /** Queues a plain call behind the open transaction. */
  private later<R>(run: () => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push(() => {
        try {
          resolve(run());
        } catch (err) {
          reject(err);
        }
      });
    });
  }
}

function noop(): void {}
