import { describe, expect, it } from "vitest";
import { nestsDeeperThan } from "../../shared/json-depth";

/** The depth of a parsed value, as the reference the byte scan is pinned to. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

/** Random JSON with brackets, quotes and backslashes inside strings too. */
function randomJson(seed: number): unknown {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const value = (depth: number): unknown => {
    const kind = Math.floor(next() * (depth > 8 ? 3 : 5));
    if (kind === 0) return ['a"[{', "\\]}", "x", 'é[\\"]'][Math.floor(next() * 4)];
    if (kind === 1) return Math.floor(next() * 100);
    if (kind === 2) return null;
    const items = Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
    return kind === 3 ? items : Object.fromEntries(items.map((item, i) => [`k{${i}"`, item]));
  };
  return value(0);
}

describe("nestsDeeperThan", () => {
  it("agrees with the depth of the parsed value, on text and on UTF-8 bytes", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const text = JSON.stringify(randomJson(seed));
      const depth = depthOf(JSON.parse(text));
      for (const max of [depth - 1, depth, depth + 1].filter((max) => max >= 0)) {
        expect(nestsDeeperThan(text, max)).toBe(depth > max);
        expect(nestsDeeperThan(new TextEncoder().encode(text), max)).toBe(depth > max);
      }
    }
  });

  it("caps at 64 by default, whatever the text nests", () => {
    expect(nestsDeeperThan(`${"[".repeat(64)}${"]".repeat(64)}`)).toBe(false);
    expect(nestsDeeperThan(`${"[".repeat(65)}${"]".repeat(65)}`)).toBe(true);
    expect(nestsDeeperThan(`"${"[".repeat(1000)}"`)).toBe(false);
    expect(nestsDeeperThan("[".repeat(1_000_000))).toBe(true);
  });
});
