import { describe, expect, it } from "vitest";
import { ChannelDirectory } from "../../shared/relay/channel-directory";
import { type ChannelRecord, type Channels, newChannelRecord } from "../../shared/store/channels";

function directory(channels: ChannelRecord[], random = Math.random) {
  const store = { list: async () => channels } as unknown as Channels;
  return new ChannelDirectory(store, 60_000, random);
}

/** A small deterministic generator, so the weighted draw can be checked exactly. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("ChannelDirectory", () => {
  const channel = (id: string, fields: Partial<ChannelRecord>) =>
    newChannelRecord({ id, baseUrl: "https://x/v1", models: ["m"], ...fields });

  it("tries higher priorities first and leaves disabled channels out", async () => {
    const order = await directory([
      channel("low", { priority: 1 }),
      channel("off", { priority: 9, status: "disabled" }),
      channel("high", { priority: 5 }),
    ]).candidates("m");
    expect(order.map((c) => c.id)).toEqual(["high", "low"]);
  });

  it("spreads traffic within a priority by weight", async () => {
    const dir = directory(
      [channel("heavy", { weight: 3 }), channel("light", { weight: 1 })],
      seeded(7),
    );
    const firsts = { heavy: 0, light: 0 };
    for (let i = 0; i < 4_000; i++) {
      const [first] = await dir.candidates("m");
      firsts[first?.id as "heavy" | "light"]++;
    }
    // 3:1 by weight: about 3,000 and 1,000.
    expect(firsts.heavy).toBeGreaterThan(2_800);
    expect(firsts.heavy).toBeLessThan(3_200);
    expect(firsts.heavy + firsts.light).toBe(4_000);
  });

  it("lists the models of enabled channels only", async () => {
    const dir = directory([
      channel("a", { models: ["x", "y"] }),
      channel("b", { models: ["z"], status: "disabled" }),
    ]);
    expect(await dir.models()).toEqual(["x", "y"]);
    expect(await dir.candidates("z")).toEqual([]);
  });
});

describe("ChannelDirectory with an affinity seed (a conversation's session)", () => {
  const channels = ["a", "b", "c", "d"].map((id) =>
    newChannelRecord({ id, baseUrl: "https://x/v1", models: ["m"], weight: id === "a" ? 3 : 1 }),
  );
  const dir = new ChannelDirectory(
    {
      list: async () => [...channels, { ...channels[0], id: "top", priority: 9 } as ChannelRecord],
    } as unknown as Channels,
    60_000,
    () => {
      throw new Error("a seeded order draws nothing at random");
    },
  );

  it("gives one session the same order every time, higher priorities still first", async () => {
    const first = (await dir.candidates("m", "session-1")).map((c) => c.id);
    expect(first[0]).toBe("top");
    for (let i = 0; i < 5; i++)
      expect((await dir.candidates("m", "session-1")).map((c) => c.id)).toEqual(first);
  });

  it("spreads different sessions by weight", async () => {
    const firsts: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
    for (let i = 0; i < 3_000; i++) {
      const order = await dir.candidates("m", `session-${i}`);
      firsts[order[1]?.id as string] = (firsts[order[1]?.id as string] ?? 0) + 1;
    }
    // Weights 3:1:1:1: about 1,500 for "a" and 500 for each other.
    expect(firsts.a).toBeGreaterThan(1_350);
    expect(firsts.a).toBeLessThan(1_650);
    for (const id of ["b", "c", "d"]) expect(firsts[id]).toBeGreaterThan(400);
  });
});
