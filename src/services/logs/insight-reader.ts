/**
 * The log events CloudWatch's Contributor Insights rules read (link `metrics`'
 * registerLogReader): a rule's log groups by name or `prefix*`, and their events in a time
 * range, stream after stream.
 */
import type { LogEventReader, LogEventRecord } from '../../events/metrics.js';
import type { MetadataStore } from '../../storage/types.js';
import {
  GROUPS,
  STREAMS,
  childPrefix,
  eventPages,
  groupKey,
  scopePrefix,
  type GroupRecord,
  type Scope,
} from './store.js';

export class StoredLogEvents implements LogEventReader {
  constructor(private readonly store: MetadataStore) {}

  async groups(scope: Scope, pattern: string): Promise<string[]> {
    const prefix = scopePrefix(scope);
    const wildcard = pattern.endsWith('*');
    const rows = await this.store.list<GroupRecord>(GROUPS, {
      prefix: prefix + (wildcard ? pattern.slice(0, -1) : pattern),
    });
    return rows
      .map((r) => r.key.slice(prefix.length))
      .filter((name) => wildcard || name === pattern);
  }

  async *events(
    scope: Scope,
    group: string,
    fromMs: number,
    toMs: number,
  ): AsyncGenerator<LogEventRecord[]> {
    const gKey = groupKey(scope, group);
    const streams = await this.store.list(STREAMS, { prefix: childPrefix(gKey) });
    for (const { key } of streams) {
      for await (const page of eventPages(this.store, key, fromMs, toMs)) {
        yield page.map((e) => ({ timestamp: e.timestamp, message: e.message }));
      }
    }
  }
}
