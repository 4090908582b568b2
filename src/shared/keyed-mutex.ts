/**
 * Serialises work per key: `lock(key)` resolves once every earlier holder of the same key
 * has released it. Keys that are never contended cost one map entry while held.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async lock(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  /** Runs `fn` holding the key's lock. */
  async with<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const unlock = await this.lock(key);
    try {
      return await fn();
    } finally {
      unlock();
    }
  }
}
