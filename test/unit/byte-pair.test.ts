/**
 * sluice's byte-pair counter (shared/billing/byte-pair.ts) against gpt-tokenizer, the library
 * it replaced on the path of an estimate: both read OpenAI's ranks, so every count must agree
 * (but one: gpt-tokenizer misses the token of a byte-order mark, which tiktoken finds) —
 * over this repository's own text and code, many languages and scripts, emoji, broken
 * surrogates, whitespace runs, digits and the spellings of special tokens, cut at many
 * places so that the pieces vary. Pieces longer than LONGEST_PIECE are the one place the two
 * may part, by about a token per part, and there the counter must stay linear.
 */
import { readFileSync } from "node:fs";
import * as cl100k from "gpt-tokenizer/encoding/cl100k_base";
import * as o200k from "gpt-tokenizer/encoding/o200k_base";
import {
  CL100K_TOKEN_SPLIT_REGEX,
  O200K_TOKEN_SPLIT_REGEX,
} from "gpt-tokenizer/encodingParams/constants";
import { describe, expect, it } from "vitest";
import {
  ByteRanks,
  countBytePairTokens,
  LONGEST_PIECE,
  REMEMBERED_LENGTH,
  REMEMBERED_PIECES,
} from "../../shared/billing/byte-pair";
import { type EncodingName, tiktokenFile } from "../../shared/billing/tokens";

const PLAIN = { disallowedSpecial: new Set<string>() };

const encodings = [
  ["o200k_base", O200K_TOKEN_SPLIT_REGEX, o200k],
  ["cl100k_base", CL100K_TOKEN_SPLIT_REGEX, cl100k],
] as const;

/** The library's ranks: each token's text, or its bytes when they are not UTF-8. */
const libraryRanks = (library: typeof o200k): readonly (string | number[])[] =>
  (
    library.default as unknown as {
      bytePairEncodingCoreProcessor: { bytePairRankDecoder: (string | number[])[] };
    }
  ).bytePairEncodingCoreProcessor.bytePairRankDecoder;

/** A generator of the same pseudo-random numbers every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
}

/** Text of code points from `ranges`, in words of 1–12 separated by spaces, tabs or newlines. */
function randomText(random: () => number, length: number, ranges: [number, number][]): string {
  let text = "";
  while (text.length < length) {
    const word = 1 + Math.floor(random() * 12);
    for (let i = 0; i < word; i++) {
      const [low, high] = ranges[Math.floor(random() * ranges.length)] as [number, number];
      text += String.fromCodePoint(low + Math.floor(random() * (high - low + 1)));
    }
    text += [" ", " ", " ", "\n", "\t", "  ", "\r\n", ""][Math.floor(random() * 8)];
  }
  return text;
}

const random = seeded(20261207);
const CORPUS: Record<string, string> = {
  readme: readFileSync("README.md", "utf8"),
  code: readFileSync("shared/relay/relay.ts", "utf8") + readFileSync("package.json", "utf8"),
  languages: [
    "你好，世界！这是一个测试。模型的回答按令牌计费。",
    "これは日本語のテキストです。カタカナとひらがな、そして漢字。",
    "한국어 텍스트입니다. 토큰을 셉니다.",
    "Здравствуй, мир! Ёжик в тумане. Пример текста.",
    "مرحبا بالعالم. هذا نص تجريبي.",
    "שלום עולם. זה טקסט לדוגמה.",
    "नमस्ते दुनिया। यह एक परीक्षण है।",
    "Γειά σου Κόσμε. Ελληνικά κείμενα.",
    "Ça va? Größe, naïve façade, Øresund, İstanbul, ŞĞÜ.",
    "Tiếng Việt có dấu: Trường, Nguyễn, người.",
    "ภาษาไทย ไม่มีช่องว่างระหว่างคำ",
  ].join("\n"),
  symbols:
    "emoji 🎉👍🏽👨‍👩‍👧‍👦🏳️‍🌈 and flags 🇫🇷🇯🇵, combining e\u0301 a\u0308\u0323, zero\u200bwidth, " +
    "lone \ud800 high and \udc00 low surrogates, \ud83d at the end\ud83d",
  whitespace: "   \n\n\t  spaces    and\r\n\r\nnewlines   \n\n\n    \t\t\n x  \u00a0\u3000 y \n",
  digits: "0 1 12 123 1234 12345 3.14159 1,000,000 0x7fffffff 2026-12-07 ١٢٣ ४५६ 一二三",
  specials:
    "<|endoftext|> <|fim_prefix|><|fim_middle|><|fim_suffix|> <|im_start|>user<|im_sep|>" +
    "hi<|im_end|> <|endofprompt|> <|start|><|channel|><|message|><|end|>",
  contractions: "It's I'm we're they've she'd you'll DON'T Y'ALL o'clock rock'n'roll",
  random: randomText(random, 20_000, [
    [0x20, 0x7e],
    [0xa0, 0x2ff],
    [0x370, 0x52f],
    [0x590, 0x6ff],
    [0x900, 0x97f],
    [0x3040, 0x30ff],
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0x1f300, 0x1faff],
    [0xd800, 0xdfff],
  ]),
};

describe("byte-pair counts, as gpt-tokenizer counts", () => {
  for (const [name, split, library] of encodings) {
    const ranks = ByteRanks.fromTiktoken(readFileSync(tiktokenFile(name as EncodingName)));

    it(`reads ${name}'s ranks: every token of the library's, at its rank`, () => {
      const theirs = libraryRanks(library);
      expect(ranks.size).toBe(theirs.length);
      const encoder = new TextEncoder();
      theirs.forEach((token, rank) => {
        const bytes = typeof token === "string" ? encoder.encode(token) : Uint8Array.from(token);
        if (ranks.rankOf(bytes, 0, bytes.length) !== rank) expect.fail(`rank ${rank}`);
      });
    });

    it.each(Object.keys(CORPUS))(`counts %s in ${name}, cut at many places`, (key) => {
      const text = CORPUS[key] as string;
      const step = Math.max(1, Math.floor(text.length / 150));
      let compared = 0;
      for (let start = 0; start < text.length; start += step) {
        for (const length of [1, 7, 64, 600]) {
          const part = text.slice(start, start + length);
          expect(countBytePairTokens(ranks, split, part), JSON.stringify(part)).toBe(
            library.countTokens(part, PLAIN),
          );
          compared++;
        }
      }
      expect(countBytePairTokens(ranks, split, text)).toBe(library.countTokens(text, PLAIN));
      expect(compared).toBeGreaterThan(100);
    });

    it(`writes ${name}'s ranks as a table that reads back the same, and counts the same`, () => {
      const table = ranks.toTable();
      // At an offset that is no multiple of 4, as a file read into a shared buffer can be, in
      // a Uint8Array and in a Buffer (whose slice is no copy).
      const shifted = new Uint8Array(table.length + 1).subarray(1);
      shifted.set(table);
      const shiftedBuffer = Buffer.alloc(table.length + 1).subarray(1);
      shiftedBuffer.set(table);
      for (const file of [table, shifted, shiftedBuffer]) {
        const read = ByteRanks.fromTable(file);
        expect(Buffer.from(read.toTable()).equals(Buffer.from(table))).toBe(true);
        expect(countBytePairTokens(read, split, CORPUS.languages as string)).toBe(
          library.countTokens(CORPUS.languages as string, PLAIN),
        );
      }
      // Anything else is refused: cut short, another file, a count that does not add up.
      expect(() => ByteRanks.fromTable(table.subarray(0, table.length - 1))).toThrow(
        "not a table of ranks",
      );
      expect(() => ByteRanks.fromTable(readFileSync(tiktokenFile(name as EncodingName)))).toThrow(
        "not a table of ranks",
      );
      const miscounted = table.slice();
      new DataView(miscounted.buffer).setUint32(4, ranks.size - 1, true);
      expect(() => ByteRanks.fromTable(miscounted)).toThrow("not a table of ranks");
    });

    it(`refuses a damaged table of ${name}'s ranks rather than hang or count wrongly`, () => {
      const table = ranks.toTable();
      const words = (file: Uint8Array) => new Uint32Array(file.buffer, 0, file.length >> 2);
      const slotsAt = 4 + ranks.size + 1;
      const damaged = (damage: (w: Uint32Array) => void) => {
        const file = table.slice();
        damage(words(file));
        return () => ByteRanks.fromTable(file);
      };
      // Every slot filled (a probe would find no empty one), one slot emptied, one rank named
      // twice, a rank beyond the vocabulary, two tokens' bounds out of order.
      const slots = words(table).subarray(slotsAt, slotsAt + (words(table)[3] as number));
      const empty = slots.indexOf(0);
      const filled = slots.findIndex((slot) => slot !== 0);
      for (const damage of [
        (w: Uint32Array) => w.fill(1, slotsAt, slotsAt + slots.length),
        (w: Uint32Array) => {
          w[slotsAt + filled] = 0;
        },
        (w: Uint32Array) => {
          w[slotsAt + empty] = slots[filled] as number;
        },
        (w: Uint32Array) => {
          w[slotsAt + empty] = ranks.size + 1;
        },
        (w: Uint32Array) => {
          w[4 + 10] = w[4 + 12] as number;
        },
      ])
        expect(damaged(damage)).toThrow("not a table of ranks");
    });

    it(`counts a byte-order mark as tiktoken does, where gpt-tokenizer drops it (${name})`, () => {
      // U+FEFF's bytes are one token of the vocabulary; gpt-tokenizer decodes candidate tokens
      // with a TextDecoder, which drops a leading BOM, so it never finds that token.
      const bom = new TextEncoder().encode("\ufeff");
      expect(ranks.rankOf(bom, 0, bom.length)).toBeGreaterThanOrEqual(0);
      expect(countBytePairTokens(ranks, split, "\ufeff")).toBe(1);
      expect(library.countTokens("\ufeff", PLAIN)).toBe(2);
      // Elsewhere the two agree: with the mark taken out, or as the text around it.
      const text = "\ufeffusing System;";
      expect(countBytePairTokens(ranks, split, text.slice(1))).toBe(
        library.countTokens(text.slice(1), PLAIN),
      );
    });

    it(`remembers the counts of at most ${REMEMBERED_PIECES} short pieces (${name})`, () => {
      const fresh = ByteRanks.fromTable(ranks.toTable());
      const words = Array.from({ length: REMEMBERED_PIECES * 3 }, (_, i) => `w${i.toString(36)}x`);
      const long = "z".repeat(REMEMBERED_LENGTH + 1);
      const text = `${words.join(" ")} ${long}`;
      expect(countBytePairTokens(fresh, split, text)).toBe(library.countTokens(text, PLAIN));
      expect(fresh.counted.size).toBeGreaterThan(0);
      expect(fresh.counted.size).toBeLessThanOrEqual(REMEMBERED_PIECES);
      expect([...fresh.counted.keys()].every((piece) => piece.length <= REMEMBERED_LENGTH)).toBe(
        true,
      );
      // And remembered counts are the counts: the same text again, from what was remembered.
      expect(countBytePairTokens(fresh, split, text)).toBe(library.countTokens(text, PLAIN));
    });

    it(`merges a piece longer than ${LONGEST_PIECE} bytes in parts, in linear time (${name})`, () => {
      for (const unit of ["a", "xy", "=", "é", "数", "🎉"]) {
        // A piece of about 2,000 bytes: the library merges it whole; the parts differ from
        // that by at most a token each.
        const piece = unit.repeat(Math.ceil(2_000 / Buffer.byteLength(unit)));
        const parts = Math.ceil(Buffer.byteLength(piece) / (LONGEST_PIECE - 3));
        const counted = countBytePairTokens(ranks, split, piece);
        expect(Math.abs(counted - library.countTokens(piece, PLAIN))).toBeLessThanOrEqual(parts);
        // Each part counts as a piece of its own would: one part's count, times the parts.
        const whole = Math.floor(LONGEST_PIECE / Buffer.byteLength(unit));
        const part = countBytePairTokens(ranks, split, unit.repeat(whole));
        const repeats = 1_000;
        expect(countBytePairTokens(ranks, split, unit.repeat(whole * repeats))).toBe(
          part * repeats,
        );
      }
      // A megabyte of one letter: merged whole, a quadratic merge would not end within the
      // test's time (the library takes seconds for 40 KB).
      expect(countBytePairTokens(ranks, split, "a".repeat(1_000_000))).toBeGreaterThan(0);
    });
  }
});

describe("a .tiktoken file that is not one is refused", () => {
  const file = (text: string) => new TextEncoder().encode(text);
  it.each([
    ["a rank out of order", "YQ== 0\nYg== 2\n", "line 2: not rank 1"],
    ["a line without a rank", "YQ== 0\nYg==\n", "line 2: no rank"],
    ["a rank that is not a number", "YQ== 0\nYg== one\n", "line 2: not rank 1"],
    ["a token that is not base64", "YQ== 0\nY*== 1\n", "line 2: not base64"],
    ["a line with no token", "YQ== 0\n 1\n", "line 2: no token"],
    [
      "the same bytes twice",
      "YQ== 0\nYg== 1\nYQ== 2\n",
      "rank 2: the same bytes as an earlier rank",
    ],
  ])("%s", (_, text, message) => {
    expect(() => ByteRanks.fromTiktoken(file(text))).toThrow(message);
  });

  it("and a small one is read: its ranks, with or without a last newline", () => {
    for (const text of ["YQ== 0\nYg== 1\nYWI= 2\n", "YQ== 0\nYg== 1\nYWI= 2"]) {
      const ranks = ByteRanks.fromTiktoken(file(text));
      expect(ranks.size).toBe(3);
      const bytes = file("ab");
      expect([
        ranks.rankOf(bytes, 0, 1),
        ranks.rankOf(bytes, 1, 2),
        ranks.rankOf(bytes, 0, 2),
      ]).toEqual([0, 1, 2]);
      expect(ranks.rankOf(file("ba"), 0, 2)).toBe(-1);
    }
  });
});
