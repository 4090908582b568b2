/**
 * Caches with a ceiling, for what is keyed by client input (names, ids, patterns, paths)
 * and must not grow without bound: adding a new key to a full one empties it first. Emptied
 * at once rather than evicted one by one: lookups stay a plain Map's (the hot side of every
 * cache here), and what is dropped is refilled from the source it caches.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.limit && !this.has(key)) this.clear();
    return super.set(key, value);
  }
}

/** BoundedMap's Set. */
export class BoundedSet<T> extends Set<T> {
  constructor(readonly limit: number) {
    super();
  }

  override add(value: T): this {
    if (this.size >= this.limit && !this.has(value)) this.clear();
    return super.add(value);
  }
}
