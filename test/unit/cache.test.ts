import { afterEach, describe, expect, it, vi } from "vitest";
import { runAfterCallWork } from "../../shared/after-call";
import { RecentSet, TtlCache } from "../../shared/cache";

/** A cache on a clock the test moves, and a loader that counts its calls. */
function setup() {
  let time = 0;
  const cache = new TtlCache<string, string>(1_000, { maxEntries: 100, now: () => time });
  let loads = 0;
  let fail = false;
  const load = async () => {
    loads++;
    if (fail) throw new Error("load failed");
    return `v${loads}`;
  };
  return {
    cache,
    get: () => cache.get("k", load),
    at: (ms: number) => {
      time = ms;
    },
    loads: () => loads,
    failLoads: (value: boolean) => {
      fail = value;
    },
  };
}

describe("TtlCache", () => {
  it("loads once for concurrent callers and serves the value until it is stale", async () => {
    const c = setup();
    expect(await Promise.all([c.get(), c.get()])).toEqual(["v1", "v1"]);
    c.at(999);
    expect(await c.get()).toBe("v1");
    expect(c.loads()).toBe(1);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it("answers a stale value at once and refreshes it behind, once, after the call", async () => {
    const c = setup();
    await c.get();
    c.at(1_500);
    expect(await Promise.all([c.get(), c.get()])).toEqual(["v1", "v1"]);
    // Not before the call has answered (the API's handler runs the waiting work then).
    expect(c.loads()).toBe(1);
    await runAfterCallWork();
    expect(c.loads()).toBe(2);
    expect(await c.get()).toBe("v2");
    expect(c.loads()).toBe(2);
  });

  it("refreshes by itself a second later where no handler runs the waiting work", async () => {
    vi.useFakeTimers();
    const c = setup();
    await c.get();
    c.at(1_500);
    expect(await c.get()).toBe("v1");
    await vi.advanceTimersByTimeAsync(999);
    expect(c.loads()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(c.loads()).toBe(2);
    expect(await c.get()).toBe("v2");
  });

  it("waits for a fresh value when the old one is more than twice the TTL old", async () => {
    const c = setup();
    await c.get();
    c.at(2_000);
    expect(await c.get()).toBe("v2");
  });

  it("never answers a value past its TTL when told not to serve stale ones", async () => {
    let time = 0;
    let loads = 0;
    const cache = new TtlCache<string, string>(1_000, { now: () => time, serveStale: false });
    const get = () => cache.get("k", async () => `v${++loads}`);
    expect(await get()).toBe("v1");
    time = 999;
    expect(await get()).toBe("v1");
    time = 1_000;
    expect(await Promise.all([get(), get()])).toEqual(["v2", "v2"]);
    expect(loads).toBe(2);
  });

  it("caches no failed load, and keeps a stale value when its refresh fails", async () => {
    const c = setup();
    c.failLoads(true);
    await expect(c.get()).rejects.toThrow("load failed");
    c.failLoads(false);
    expect(await c.get()).toBe("v2");
    c.at(1_500);
    c.failLoads(true);
    expect(await c.get()).toBe("v2");
    await runAfterCallWork();
    c.failLoads(false);
    // The failed refresh is tried again by the next caller.
    expect(await c.get()).toBe("v2");
    await runAfterCallWork();
    expect(await c.get()).toBe("v4");
  });

  it("keeps a key forgotten while its refresh was under way", async () => {
    const c = setup();
    await c.get();
    c.at(1_500);
    const stale = c.get();
    c.cache.delete("k");
    expect(await stale).toBe("v1");
    await runAfterCallWork();
    // Not the refresh's value: a new load, made after the key was forgotten.
    expect(await c.get()).toBe("v3");
  });

  it("evicts the least recently used entry when full, not every entry", async () => {
    const cache = new TtlCache<string, string>(60_000, { maxEntries: 3, now: () => 0 });
    const loads: string[] = [];
    const get = (key: string) =>
      cache.get(key, async () => {
        loads.push(key);
        return key;
      });
    await get("a");
    await get("b");
    await get("c");
    await get("a"); // a is now the most recently used; b the least
    await get("d");
    expect(cache.size).toBe(3);
    await get("a");
    await get("c");
    await get("d");
    expect(loads).toEqual(["a", "b", "c", "d"]);
    await get("b");
    expect(loads).toEqual(["a", "b", "c", "d", "b"]);
  });

  it("keeps a key in use through a flood of new keys, one past the bound", async () => {
    const cache = new TtlCache<string, string>(60_000, { now: () => 0 });
    const loads = new Map<string, number>();
    const get = (key: string) =>
      cache.get(key, async () => {
        loads.set(key, (loads.get(key) ?? 0) + 1);
        return key;
      });
    await get("real");
    for (let i = 0; i < 10_001; i++) {
      await get(`flood-${i}`);
      if (i % 1_000 === 999) await get("real");
    }
    expect(cache.size).toBe(10_000);
    expect(await get("real")).toBe("real");
    expect(loads.get("real")).toBe(1);
    // The flood's oldest went instead.
    await get("flood-0");
    expect(loads.get("flood-0")).toBe(2);
  });
});

describe("RecentSet", () => {
  it("remembers a key for the TTL, and at most maxEntries keys, the oldest going first", () => {
    let time = 0;
    const set = new RecentSet<string>(1_000, 2, () => time);
    set.add("a");
    set.add("b");
    expect(set.has("a") && set.has("b")).toBe(true);
    set.add("c");
    expect([set.has("a"), set.has("b"), set.has("c")]).toEqual([false, true, true]);
    time = 999;
    expect(set.has("c")).toBe(true);
    time = 1_000;
    expect(set.has("c")).toBe(false);
    set.add("d");
    set.delete("d");
    expect(set.has("d")).toBe(false);
  });

  it("remembers nothing with a TTL of 0", () => {
    const set = new RecentSet<string>(0);
    set.add("a");
    expect(set.has("a")).toBe(false);
  });
});
