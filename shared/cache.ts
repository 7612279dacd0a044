/**
 * A value loaded at most once per `ttlMs`, shared by concurrent callers (single flight).
 * The warm path reads keys, channels and prices through these instead of DynamoDB.
 *
 * Once a value is older than `ttlMs` it is still answered with, for up to another `ttlMs`,
 * while a fresh one loads behind it: a refresh never puts a DynamoDB read in front of a
 * request. Older than that, or never loaded, the caller waits for the load.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      const age = this.now() - hit.loadedAt;
      if (age < this.ttlMs) return hit.value;
      if (hit.loaded && age < 2 * this.ttlMs) {
        if (!hit.refreshing) this.refresh(key, hit, load);
        return hit.value;
      }
    }
    return this.load(key, load);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  private load(key: K, load: () => Promise<V>): Promise<V> {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const entry: Entry<V> = {
      value: load(),
      loadedAt: this.now(),
      loaded: false,
      refreshing: false,
    };
    this.entries.set(key, entry);
    entry.value.then(
      () => {
        entry.loaded = true;
      },
      // A failed load is not cached.
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  /** Loads a fresh value behind a stale one; a key forgotten meanwhile stays forgotten. */
  private refresh(key: K, stale: Entry<V>, load: () => Promise<V>): void {
    stale.refreshing = true;
    const startedAt = this.now();
    const value = load();
    value.then(
      () => {
        if (this.entries.get(key) === stale)
          this.entries.set(key, { value, loadedAt: startedAt, loaded: true, refreshing: false });
      },
      () => {
        stale.refreshing = false;
      },
    );
  }
}

interface Entry<V> {
  value: Promise<V>;
  loadedAt: number;
  /** The load has succeeded: the value may be answered with while it is refreshed. */
  loaded: boolean;
  refreshing: boolean;
}
