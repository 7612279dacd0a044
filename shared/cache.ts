import { afterCall } from "./after-call";

/**
 * A value loaded at most once per `ttlMs`, shared by concurrent callers (single flight).
 * The warm path reads keys, channels and prices through these instead of DynamoDB.
 *
 * At most `maxEntries` are kept: a new one evicts the least recently used (a Map keeps
 * insertion order, and a hit moves its entry to the end), so a flood of new keys cannot
 * flush the ones in use.
 *
 * Once a value is older than `ttlMs` it is still answered with, for up to another `ttlMs`,
 * while a fresh one loads behind it, after the call has answered: a refresh never puts a
 * DynamoDB read in front of a request. Older than that, or never loaded, the caller waits for the load. With
 * `serveStale: false` a value older than `ttlMs` is never answered (the caller waits): for
 * what must stop working within `ttlMs` of a change elsewhere, such as a revoked credential.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly serveStale: boolean;

  constructor(
    private readonly ttlMs: number,
    options: { maxEntries?: number; now?: () => number; serveStale?: boolean } = {},
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
    this.serveStale = options.serveStale ?? true;
  }

  get(key: K, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      const age = this.now() - hit.loadedAt;
      if (age < this.ttlMs) return hit.value;
      if (this.serveStale && hit.loaded && age < 2 * this.ttlMs) {
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

  get size(): number {
    return this.entries.size;
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }

  private load(key: K, load: () => Promise<V>): Promise<V> {
    this.entries.delete(key);
    while (this.entries.size > 0 && this.entries.size >= this.maxEntries) this.evictOldest();
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

  /**
   * Loads a fresh value behind a stale one, once the call that found it stale has answered
   * (after-call.ts); a key forgotten meanwhile stays forgotten.
   */
  private refresh(key: K, stale: Entry<V>, load: () => Promise<V>): void {
    stale.refreshing = true;
    afterCall(async () => {
      const startedAt = this.now();
      const value = load();
      try {
        await value;
      } catch {
        stale.refreshing = false;
        return;
      }
      if (this.entries.get(key) === stale)
        this.entries.set(key, { value, loadedAt: startedAt, loaded: true, refreshing: false });
    });
  }
}

interface Entry<V> {
  value: Promise<V>;
  loadedAt: number;
  /** The load has succeeded: the value may be answered with while it is refreshed. */
  loaded: boolean;
  refreshing: boolean;
}

/**
 * Keys remembered for `ttlMs`, at most `maxEntries` of them (a new one pushes out the oldest):
 * the credentials that were just looked up and not found, so that asking again costs no read.
 * Kept apart from the credentials found, so that misses can only push out other misses.
 */
export class RecentSet<K> {
  private readonly added = new Map<K, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  has(key: K): boolean {
    const at = this.added.get(key);
    if (at === undefined) return false;
    if (this.now() - at < this.ttlMs) return true;
    this.added.delete(key);
    return false;
  }

  add(key: K): void {
    if (this.ttlMs <= 0 || this.maxEntries <= 0) return;
    this.added.delete(key);
    while (this.added.size >= this.maxEntries) {
      const oldest = this.added.keys().next();
      if (oldest.done) break;
      this.added.delete(oldest.value);
    }
    this.added.set(key, this.now());
  }

  delete(key: K): void {
    this.added.delete(key);
  }

  clear(): void {
    this.added.clear();
  }
}
