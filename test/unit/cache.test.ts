import { describe, expect, it } from "vitest";
import { TtlCache } from "../../shared/cache";

/** A cache on a clock the test moves, and a loader that counts its calls. */
function setup() {
  let time = 0;
  const cache = new TtlCache<string, string>(1_000, 100, () => time);
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

  it("answers a stale value at once and refreshes it behind, once", async () => {
    const c = setup();
    await c.get();
    c.at(1_500);
    expect(await Promise.all([c.get(), c.get()])).toEqual(["v1", "v1"]);
    expect(c.loads()).toBe(2);
    await Promise.resolve();
    expect(await c.get()).toBe("v2");
    expect(c.loads()).toBe(2);
  });

  it("waits for a fresh value when the old one is more than twice the TTL old", async () => {
    const c = setup();
    await c.get();
    c.at(2_000);
    expect(await c.get()).toBe("v2");
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
    await Promise.resolve();
    c.failLoads(false);
    // The failed refresh is tried again by the next caller.
    expect(await c.get()).toBe("v2");
    await Promise.resolve();
    expect(await c.get()).toBe("v4");
  });

  it("keeps a key forgotten while its refresh was under way", async () => {
    const c = setup();
    await c.get();
    c.at(1_500);
    const stale = c.get();
    c.cache.delete("k");
    expect(await stale).toBe("v1");
    await Promise.resolve();
    // Not the refresh's value: a new load, made after the key was forgotten.
    expect(await c.get()).toBe("v3");
  });
});
