import { describe, expect, it } from "vitest";
import {
  MalformedJson,
  readTopLevel,
  scanTopLevel,
  spliceTopLevel,
  type TopLevelEdits,
} from "../../shared/relay/json-splice";

const encode = (text: string) => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const splice = (text: string, edits: TopLevelEdits) => decode(spliceTopLevel(encode(text), edits));

/** A small deterministic generator, so a failing case can be replayed from its seed. */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  return { next, int, pick };
}
type Random = ReturnType<typeof random>;

/**
 * Values whose text JSON.parse + JSON.stringify would rewrite: integers past 2^53, `1.0`,
 * `-0`, exponents, escapes that have a shorter form, raw and escaped non-ASCII, a duplicate
 * key inside a nested object, and signature-like base64.
 */
const TRICKY_VALUES = [
  "12345678901234567890",
  "-9007199254740993",
  "1.0",
  "-0",
  "1E+2",
  "0.10000000000000001",
  '"\\u00e9\\ud83d\\ude00 \\/ \\" \\\\ \\b\\f\\n\\r\\t"',
  '"日本語 é 😀"',
  '"\\u0000"',
  '{"a":1,"a":2}',
  '{"input":{"n":123456789012345678901234567890,"x":[1.50,2.0e0]}}',
  '"EqQBCkgIAxABGAIiQL5yJ5ZPZxr4g8Pk2uXGm2vMlF9Kx1Wq3RtYcO0h+/=="',
  "true",
  "false",
  "null",
  "[]",
  "{}",
  "[ 1 , [ 2 , [ ] ] , { } ]",
];
const KEYS = ["model", "max_tokens", "stream", "messages", "anthropic_version", "é", 'k"q', "x"];
const SPACE = ["", " ", "\n", "\t", "\r\n", "  \n  "];

/** Random JSON text (not a parsed value: the text itself is what must survive). */
function randomValue(r: Random, depth = 0): string {
  const kind = r.int(depth > 4 ? 2 : 4);
  if (kind === 0) return r.pick(TRICKY_VALUES);
  if (kind === 1) return JSON.stringify(r.pick(["a", "\u2028", "x\ny", 'q"\\', ""]));
  const items = Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
  const space = () => r.pick(SPACE);
  if (kind === 2) return `[${space()}${items.join(`${space()},${space()}`)}${space()}]`;
  return `{${items.map((item, i) => `${space()}"k${i % 2}"${space()}:${space()}${item}`).join(",")}${space()}}`;
}

/** A member's key as text: sometimes with an escape that decodes to the same key. */
function keyText(r: Random, key: string): string {
  if (key === "model" && r.int(4) === 0) return '"\\u006dodel"';
  return JSON.stringify(key);
}

interface Doc {
  text: string;
  members: { key: string; before: string; keyText: string; colon: string; after: string }[];
  lead: string;
  inner: string;
  trail: string;
}

function randomDoc(r: Random): Doc {
  const members = Array.from({ length: r.int(7) }, () => {
    const key = r.pick(KEYS);
    const colon = `${r.pick(SPACE)}:${r.pick(SPACE)}`;
    return {
      key,
      before: r.pick(SPACE),
      keyText: keyText(r, key),
      colon,
      value: randomValue(r),
      after: r.pick(SPACE),
    };
  });
  const lead = r.pick(SPACE);
  const inner = members.length === 0 ? r.pick(SPACE) : "";
  const trail = r.pick(SPACE);
  const body = members.map((m) => `${m.before}${m.keyText}${m.colon}${m.value}${m.after}`);
  return {
    text: `${lead}{${inner}${body.join(",")}}${trail}`,
    members: members.map((m) => ({ ...m, colon: m.colon + m.value })),
    lead,
    inner,
    trail,
  };
}

/**
 * What the splice must produce, built from the generator's own pieces: removed and edited
 * members out, every other member's text (and the whitespace around it) exactly as it was.
 */
function expectedText(doc: Doc, edits: { set: Record<string, unknown>; remove: string[] }) {
  const last = new Map(doc.members.map((m, i) => [m.key, i]));
  const kept: { head: string; after: string }[] = [];
  for (const [i, m] of doc.members.entries()) {
    if (edits.remove.includes(m.key)) continue;
    if (!(m.key in edits.set)) {
      kept.push({ head: m.before + m.keyText + m.colon, after: m.after });
      continue;
    }
    if (last.get(m.key) !== i) continue;
    const colon = m.colon.slice(0, m.colon.indexOf(":") + 1);
    const space = m.colon.slice(colon.length).match(/^\s*/)?.[0] ?? "";
    kept.push({
      head: `${m.before}${m.keyText}${colon}${space}${JSON.stringify(edits.set[m.key])}`,
      after: m.after,
    });
  }
  const added = Object.keys(edits.set)
    .filter((key) => !last.has(key) && !edits.remove.includes(key))
    .map((key) => `${JSON.stringify(key)}:${JSON.stringify(edits.set[key])}`);
  let body: string;
  if (kept.length === 0) body = added.length === 0 ? doc.inner : added.join(",");
  else {
    body = kept
      .map((piece, i) =>
        i === kept.length - 1
          ? piece.head + added.map((a) => `,${a}`).join("") + piece.after
          : piece.head + piece.after,
      )
      .join(",");
  }
  return `${doc.lead}{${body}}${doc.trail}`;
}

function randomEdits(r: Random) {
  const set: Record<string, unknown> = {};
  const remove: string[] = [];
  for (const key of KEYS) {
    const roll = r.int(6);
    if (roll === 0) remove.push(key);
    else if (roll === 1) set[key] = r.pick<unknown>(["claude-x", 4096, ["a", "b"], { z: 1 }, null]);
  }
  return { set, remove };
}

describe("spliceTopLevel", () => {
  it("replaces one member and keeps every other byte of a Claude Code body", () => {
    const body =
      '{"model":"claude-opus-5-5","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"","signature":"EqQBCkgIAx+/=="},{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"n":12345678901234567890,"f":1.0,"s":"\\u00e9"}}]}],"max_tokens":128000,"stream":true}';
    const out = splice(body, { set: { model: "claude-sonnet-4-5", max_tokens: 32000 } });
    expect(out).toBe(
      body
        .replace('"model":"claude-opus-5-5"', '"model":"claude-sonnet-4-5"')
        .replace('"max_tokens":128000', '"max_tokens":32000'),
    );
    // What JSON.parse + JSON.stringify would have lost is still there.
    expect(out).toContain('"n":12345678901234567890,"f":1.0,"s":"\\u00e9"');
  });

  it("makes a Bedrock body: model and stream out, anthropic_version and anthropic_beta in", () => {
    const body =
      '{\n  "model": "claude-x",\n  "stream": true,\n  "max_tokens": 10,\n  "messages": []\n}\n';
    const out = splice(body, {
      remove: ["model", "stream"],
      set: {
        anthropic_version: "bedrock-2023-05-31",
        anthropic_beta: ["interleaved-thinking-2025-05-14"],
      },
    });
    expect(out).toBe(
      '{\n  "max_tokens": 10,\n  "messages": [],"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["interleaved-thinking-2025-05-14"]\n}\n',
    );
    expect(JSON.parse(out)).toEqual({
      max_tokens: 10,
      messages: [],
      anthropic_version: "bedrock-2023-05-31",
      anthropic_beta: ["interleaved-thinking-2025-05-14"],
    });
  });

  it("leaves one copy of a duplicated top-level key it sets, at the last place, and removes all it removes", () => {
    expect(splice('{"model":"a","x":1,"model":"b"}', { set: { model: "c" } })).toBe(
      '{"x":1,"model":"c"}',
    );
    expect(splice('{"model":"a","x":1,"model":"b"}', { remove: ["model"] })).toBe('{"x":1}');
    // An escaped key is the same key.
    expect(splice('{"\\u006dodel":"a"}', { set: { model: "b" } })).toBe('{"\\u006dodel":"b"}');
  });

  it("edits empty and single-member objects", () => {
    expect(splice("{}", { set: { a: 1 } })).toBe('{"a":1}');
    expect(splice(" { \n } ", {})).toBe(" { \n } ");
    expect(splice('{"a":1}', { remove: ["a"] })).toBe("{}");
    expect(splice('{ "a" : 1 }', { remove: ["a"], set: { b: 2 } })).toBe('{"b":2}');
    expect(splice('{"a":1}', { remove: ["missing"] })).toBe('{"a":1}');
  });

  it("matches an independent rebuild of the text, and JSON.parse of the result, on random bodies and edits", () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const r = random(seed);
      const doc = randomDoc(r);
      const edits = randomEdits(r);
      const out = splice(doc.text, edits);
      expect(out, `seed ${seed}`).toBe(expectedText(doc, edits));
      // Bytes JSON.parse accepted may be scanned without checking their strings: the same.
      if (isJsonObject(doc.text.trim()))
        expect(decode(spliceTopLevel(encode(doc.text), edits, true)), `seed ${seed}`).toBe(out);
      // Differential against JSON.parse: the edited fields hold the new values, the rest is
      // what JSON.parse read from the original.
      const want = JSON.parse(doc.text);
      for (const key of edits.remove) delete want[key];
      Object.assign(want, edits.set);
      for (const key of edits.remove) delete want[key];
      expect(JSON.parse(out), `seed ${seed}`).toEqual(want);
    }
  });

  it("walks deep nesting without recursion", () => {
    const deep = `{"a":${"[".repeat(200_000)}${"]".repeat(200_000)},"model":"x"}`;
    const out = splice(deep, { set: { model: "y" } });
    expect(out).toBe(deep.replace('"model":"x"', '"model":"y"'));
    expect(() => spliceTopLevel(encode(`{"a":${'[{"k":'.repeat(100_000)}`), {})).toThrow(
      MalformedJson,
    );
  });
});

/** What JSON.parse says: is the text one JSON object? */
function isJsonObject(text: string): boolean {
  try {
    const parsed = JSON.parse(text);
    return parsed !== null && typeof parsed === "object" && !Array.isArray(parsed);
  } catch {
    return false;
  }
}

describe("bytes known to be JSON (`parsed`)", () => {
  /** A string's content dense in what a skip can trip on: quotes, backslash runs, non-ASCII. */
  function trickyString(r: Random): string {
    const pieces = ['"', "\\", "\\\\", "a", "é", "😀", "\n", "/", "u", "\u0001", "  "];
    return Array.from({ length: r.int(r.int(4) === 0 ? 400 : 40) }, () => r.pick(pieces)).join("");
  }

  it("finds the same members as the checking scan, strings of every shape and length", () => {
    for (let seed = 1; seed <= 4000; seed++) {
      const r = random(seed);
      const value = (depth: number): unknown => {
        const kind = r.int(depth > 3 ? 2 : 4);
        if (kind === 0) return trickyString(r);
        if (kind === 1) return r.pick<unknown>([1, -0.5, true, null, "", "x"]);
        if (kind === 2) return Array.from({ length: r.int(4) }, () => value(depth + 1));
        return Object.fromEntries(
          Array.from({ length: r.int(4) }, () => [trickyString(r), value(depth + 1)]),
        );
      };
      const object = Object.fromEntries(
        Array.from({ length: r.int(6) }, () => [trickyString(r), value(0)]),
      );
      const bytes = encode(JSON.stringify(object, null, r.pick([0, 1, "\t"])));
      expect(scanTopLevel(bytes, true), `seed ${seed}`).toEqual(scanTopLevel(bytes));
    }
  });

  it("ends a string at a quote after an even run of backslashes, wherever the run falls", () => {
    for (let lead = 0; lead < 40; lead++) {
      for (let run = 0; run < 12; run++) {
        // `run` backslashes then a quote, as content: JSON.stringify escapes each of them.
        const content = `${"x".repeat(lead)}${"\\".repeat(run)}"${"y".repeat(lead % 7)}`;
        const text = JSON.stringify({ a: content, b: [content, { [content]: content }], c: 1 });
        const bytes = encode(text);
        expect(scanTopLevel(bytes, true), `${lead} ${run}`).toEqual(scanTopLevel(bytes));
        expect(readTopLevel(bytes, "c", true)).toBe("1");
      }
    }
  });
});

describe("malformed bodies", () => {
  const cases: [string, string][] = [
    ["", "expected an object (the body ended) at byte 0"],
    ["[]", "expected an object at byte 0"],
    ['"x"', "expected an object at byte 0"],
    ["{", "expected a key (the body ended) at byte 1"],
    ['{"a"}', "expected ':' at byte 4"],
    ['{"a":}', "unexpected character at byte 5"],
    ['{"a":1,}', "expected a key at byte 7"],
    ['{"a":1 "b":2}', "expected ',' or '}' at byte 7"],
    ['{"a":01}', "expected ',' or '}' at byte 6"],
    ['{"a":1.}', "invalid number at byte 7"],
    ['{"a":-}', "invalid number at byte 6"],
    ['{"a":1e}', "invalid number at byte 7"],
    ['{"a":"\u0001"}', "control character in a string at byte 6"],
    ['{"a":"\\x"}', "invalid escape at byte 7"],
    ['{"a":"\\u12G4"}', "invalid \\u escape at byte 10"],
    ['{"a":"abc', "unterminated string (the body ended) at byte 9"],
    ['{"a":tru}', "unexpected character at byte 5"],
    ['{"a":[1,]}', "unexpected character at byte 8"],
    ['{"a":{"b" 1}}', "expected ':' at byte 10"],
    ['{"a":[1}', "expected ',' or ']' at byte 7"],
    ['{"a":1} x', "unexpected text after the object at byte 8"],
    ['{"a":1}{}', "unexpected text after the object at byte 7"],
    ["\uFEFF{}", "expected an object at byte 0"],
  ];
  for (const [text, reason] of cases) {
    it(`refuses ${JSON.stringify(text)} with where and why`, () => {
      let error: unknown;
      try {
        spliceTopLevel(encode(text), { set: { model: "m" } });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(MalformedJson);
      expect((error as Error).message).toBe(`The request body is not valid JSON: ${reason}.`);
      expect(isJsonObject(text)).toBe(false);
    });
  }

  it("judges mutated bodies exactly as JSON.parse does, and fails only with MalformedJson", () => {
    const noise = [...'{}[]",:\\0123456789eE.-+ tfnulrsa\n\u0001'];
    let refused = 0;
    for (let seed = 1; seed <= 6000; seed++) {
      const r = random(seed);
      const chars = [...randomDoc(r).text];
      for (let n = 1 + r.int(3); n > 0; n--) {
        const at = r.int(chars.length + 1);
        const roll = r.int(3);
        if (roll === 0) chars.splice(at, 1);
        else if (roll === 1) chars.splice(at, 0, r.pick(noise));
        else chars.length = at;
      }
      const text = chars.join("");
      const isObject = isJsonObject(text);
      let error: unknown;
      try {
        spliceTopLevel(encode(text), { set: { model: "m" }, remove: ["stream"] });
      } catch (err) {
        error = err;
      }
      if (error !== undefined) refused++;
      if (error !== undefined) expect(error, `seed ${seed}: ${text}`).toBeInstanceOf(MalformedJson);
      expect(error === undefined, `seed ${seed}: ${text}`).toBe(isObject);
    }
    // The mutations do make most bodies invalid, so the agreement above is not vacuous.
    expect(refused).toBeGreaterThan(2000);
  });
});

describe("readTopLevel and scanTopLevel", () => {
  it("return the raw text of a member and the members' offsets", () => {
    const body = encode('{"model" : "x", "max_tokens":1.0,"model":"y" }');
    expect(readTopLevel(body, "max_tokens")).toBe("1.0");
    expect(readTopLevel(body, "model")).toBe('"y"');
    expect(readTopLevel(body, "missing")).toBeUndefined();
    expect(
      scanTopLevel(body).members.map((m) => [m.key, decode(body.subarray(m.start, m.end))]),
    ).toEqual([
      ["model", '"model" : "x"'],
      ["max_tokens", '"max_tokens":1.0'],
      ["model", '"model":"y"'],
    ]);
  });
});
