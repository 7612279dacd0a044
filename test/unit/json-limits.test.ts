import { describe, expect, it } from "vitest";
import { jsonWeight, maxJsonWeight, nestsDeeperThan, scanJson } from "../../shared/json-limits";

/** The depth of a parsed value, as the reference the byte scan is pinned to. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

/** The values and keys of a parsed value, nested ones included: the reference for the scan's count. */
function countOf(value: unknown) {
  const count = { values: 1, containers: 0, strings: typeof value === "string" ? 1 : 0, keys: 0 };
  if (value === null || typeof value !== "object") return count;
  count.containers = 1;
  const children = Array.isArray(value) ? value : Object.values(value);
  if (!Array.isArray(value)) {
    count.keys += children.length;
    count.strings += children.length;
  }
  for (const child of children) {
    const inner = countOf(child);
    count.values += inner.values;
    count.containers += inner.containers;
    count.strings += inner.strings;
    count.keys += inner.keys;
  }
  return count;
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
    if (kind === 0)
      return ['a"[{', "\\]}", "x", 'é[\\"]', "\\", "\\\\", '\\"', ""][Math.floor(next() * 8)];
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

describe("scanJson's count of values and keys", () => {
  it("agrees with the parsed value, on text and on UTF-8 bytes, however it is spaced", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const value = randomJson(seed);
      const count = countOf(value);
      for (const text of [JSON.stringify(value), JSON.stringify(value, null, "\t\r\n ")]) {
        expect(scanJson(text)).toEqual({ tooDeep: false, ...count });
        expect(scanJson(new TextEncoder().encode(text))).toEqual({ tooDeep: false, ...count });
      }
    }
  });

  it("counts empty and nested containers, and nothing inside strings", () => {
    for (const text of [
      "[]",
      "{}",
      "[[]]",
      "[{},[],[[]]]",
      '{"a":{}}',
      '"[1,2]:{"',
      "0",
      '{"a,b":[1,{"c:":[]}]}',
      '["\\\\",{"\\"":"\\\\\\""},"]"]',
      // Long strings: searched for their quote, escaped quotes and backslash runs far in.
      JSON.stringify([
        `x"${"y".repeat(40)}\\"${"z".repeat(20)}`,
        "\\".repeat(33),
        `${"w".repeat(70)}"`,
      ]),
    ])
      expect(scanJson(text)).toEqual({ tooDeep: false, ...countOf(JSON.parse(text)) });
  });

  it("weighs a string, an array or an object as two values and a key as three", () => {
    expect(jsonWeight(scanJson('{"a":[1,"b"]}'))).toBe(4 + 2 + 1 + 3);
  });
});

describe("maxJsonWeight", () => {
  const MB = 1024 * 1024;
  const weightOf = (text: string) => jsonWeight(scanJson(text));

  it("leaves less weight to a larger body, and more to a larger function", () => {
    expect(maxJsonWeight(5.5 * MB, 128)).toBeLessThan(maxJsonWeight(1 * MB, 128));
    expect(maxJsonWeight(5.5 * MB, 256)).toBeGreaterThan(maxJsonWeight(5.5 * MB, 128));
  });

  it("at 128 MB admits an embeddings request of 300,000 token ids in 2,048 inputs, and refuses 5.5 MB of numbers", () => {
    const input = Array.from({ length: 2_048 }, (_, i) =>
      Array.from({ length: 146 }, (_, j) => 199_999 - ((i * 146 + j) % 1_000)),
    );
    const ids = JSON.stringify({ model: "text-embedding-3-small", input });
    expect(weightOf(ids)).toBeLessThanOrEqual(maxJsonWeight(Buffer.byteLength(ids), 128));
    const numbers = `[${Array(2_800_000).fill(1).join(",")}]`;
    expect(weightOf(numbers)).toBeGreaterThan(maxJsonWeight(numbers.length, 128));
  });

  it("at 128 MB admits a 5.5 MB conversation of 2,800 messages, and a 6 MB one of 1,000", () => {
    const conversation = (messages: number, bytes: number) =>
      JSON.stringify({
        model: "m",
        messages: Array.from({ length: messages }, (_, i) => ({
          role: i % 2 ? "assistant" : "user",
          content: "word ".repeat(Math.floor(bytes / messages / 5)),
        })),
      });
    for (const text of [conversation(2_800, 5.5 * MB), conversation(1_000, 6 * MB - 1_000)])
      expect(weightOf(text)).toBeLessThanOrEqual(maxJsonWeight(Buffer.byteLength(text), 128));
  });
});
