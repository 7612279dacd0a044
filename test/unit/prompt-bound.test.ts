import { deflateSync } from "node:zlib";
import { encode as cl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { encodeChat, encode as o200k } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import {
  chatPromptBound,
  completionPromptBound,
  embeddingInputBound,
  type ImageTokenFormula,
  imageFormulaFor,
  maxImageTokens,
  predictionBound,
} from "../../shared/billing/prompt-bound";
import { scanPdf } from "../../shared/media/pdf-scan";

/** The old hold estimate, half a token per UTF-8 byte, kept here to show it was no bound. */
const halfABytePerToken = (text: string) => Math.ceil(Buffer.byteLength(text) / 2);

import { tokenCorpus } from "../fixtures/token-corpus";

/** Text as the API reads it: special-token names in a prompt are plain text. */
const asText = { disallowedSpecial: new Set<string>() };
const realTokens = (text: string) =>
  Math.max(o200k(text, asText).length, cl100k(text, asText).length);

const corpus = tokenCorpus();
const measured = corpus.map(({ kind, text }) => ({
  kind,
  text,
  bytes: Buffer.byteLength(text),
  o200k: o200k(text, asText).length,
  cl100k: cl100k(text, asText).length,
}));

const MINI = imageFormulaFor("gpt-4o-mini");
const GPT_4O = imageFormulaFor("gpt-4o");

/*
 * Real tokens per UTF-8 byte on this corpus (o200k_base and cl100k_base, gpt-tokenizer 4.0.0),
 * lowest–highest per sample; the bound is 1.00:
 *   english 0.17–0.22   chinese 0.21–0.36   japanese 0.25–0.40   code 0.24–0.31
 *   json-schema 0.19–0.23   whitespace 0.29–0.34   emoji 0.41–0.70   numbers 0.40–1.00
 *   latin1-bytes 0.70–0.78   any-unicode 0.87–0.96   adversarial 0.50–0.99
 * bytes/2 (the old estimate) fell short on 100 of 282 sample-encoding pairs: every emoji,
 * latin1 and any-unicode sample, and most digit lists.
 */
describe("the text bound against real tokenizers (o200k_base, cl100k_base)", () => {
  it("is at least the real count for every sample: measured 0.17–1.00 tokens a byte", () => {
    let lowest = Number.POSITIVE_INFINITY;
    let highest = 0;
    for (const sample of measured) {
      const bound = embeddingInputBound(sample.text);
      expect(bound, sample.kind).toBe(sample.bytes);
      for (const tokens of [sample.o200k, sample.cl100k]) {
        expect(
          bound,
          `${sample.kind}: ${JSON.stringify(sample.text.slice(0, 40))}`,
        ).toBeGreaterThanOrEqual(tokens);
        lowest = Math.min(lowest, tokens / sample.bytes);
        highest = Math.max(highest, tokens / sample.bytes);
      }
    }
    // English runs at ~0.2 tokens a byte; digit lists reach a token a byte, the hard limit.
    expect(lowest).toBeGreaterThan(0.15);
    expect(lowest).toBeLessThan(0.2);
    expect(highest).toBeLessThanOrEqual(1);
    expect(highest).toBeGreaterThan(0.99);
  });

  it("cannot be half a token a byte: that undercounts digits, emoji, non-Latin and byte soup", () => {
    const under = measured.filter((s) => halfABytePerToken(s.text) < Math.max(s.o200k, s.cl100k));
    const kinds = new Set(under.map((s) => s.kind));
    for (const kind of ["numbers", "emoji", "latin1-bytes", "any-unicode", "adversarial"])
      expect(kinds, kind).toContain(kind);
    // Measured: none of prose, CJK, code, schemas or whitespace runs went over bytes/2.
    for (const kind of ["english", "chinese", "japanese", "code", "json-schema", "whitespace"])
      expect(kinds, kind).not.toContain(kind);
    expect(halfABytePerToken("1,2,3,4,5,6,7,8,9")).toBe(9);
    expect(realTokens("1,2,3,4,5,6,7,8,9")).toBe(17);
  });
});

/** OpenAI's high-detail tiling, with each way a scaled side might be rounded. */
function tileCount(width: number, height: number, round: (n: number) => number): number {
  let [w, h] = [width, height];
  if (Math.max(w, h) > 2048)
    [w, h] = [round((w * 2048) / Math.max(w, h)), round((h * 2048) / Math.max(w, h))];
  if (Math.min(w, h) > 768)
    [w, h] = [round((w * 768) / Math.min(w, h)), round((h * 768) / Math.min(w, h))];
  return Math.ceil(w / 512) * Math.ceil(h / 512);
}

describe("image formulas", () => {
  it("never take more than 8 tiles, at any size, shape or rounding, and do reach 8", () => {
    let most = 0;
    const sides = [1, 100, 511, 512, 513, 767, 768, 769, 1023, 1024, 1025, 1535, 1536, 1537];
    const more = [2047, 2048, 2049, 2050, 3000, 4096, 4097, 6000, 8192, 20000, 100000];
    for (const round of [Math.floor, Math.round, Math.ceil, (n: number) => n]) {
      for (const a of [...sides, ...more]) {
        for (const b of [...sides, ...more]) most = Math.max(most, tileCount(a, b, round));
      }
      for (let a = 1; a <= 9000; a += 37)
        for (let b = 1; b <= 9000; b += 41) most = Math.max(most, tileCount(a, b, round));
    }
    expect(most).toBe(8);
    expect(tileCount(1536, 4096, Math.floor)).toBe(8);
    // The guide's own examples: 1024² → 765 tokens, 2048×4096 → 1105 (gpt-4o).
    expect(85 + 170 * tileCount(1024, 1024, Math.floor)).toBe(765);
    expect(85 + 170 * tileCount(2048, 4096, Math.floor)).toBe(1105);
  });

  it.each([
    ["gpt-4o-mini", 48_169], // 2,833 + 8 × 5,667
    ["gpt-4o-mini-2024-07-18", 48_169],
    ["gpt-4o", 1_445], // 85 + 8 × 170
    ["gpt-4o-2024-08-06", 1_445],
    ["chatgpt-4o-latest", 1_445],
    ["gpt-4.1", 1_445],
    ["gpt-4.5-preview", 1_445],
    ["gpt-4-turbo", 1_445],
    ["gpt-4.1-mini", 2_489], // ⌈1,536 × 1.62⌉
    ["gpt-4.1-nano-2025-04-14", 3_779], // ⌈1,536 × 2.46⌉
    ["o4-mini", 2_642], // ⌈1,536 × 1.72⌉
    ["o1", 1_275], // 75 + 8 × 150
    ["o3-2025-04-16", 1_275],
    ["computer-use-preview", 1_097], // 65 + 8 × 129
    ["gpt-5", 1_190], // 70 + 8 × 140
    ["gpt-5.1-chat-latest", 1_190],
    ["gpt-5-mini", 2_489],
    ["gpt-5-nano-2025-08-07", 3_779],
    ["gpt-5.4", 12_000], // 10,000 patches × 1.2
    ["gpt-5.4-mini", 16_200],
    ["gpt-5.4-nano", 24_600],
    ["openai/gpt-4o", 1_445],
    ["GPT-4O", 1_445],
  ])("%s: at most %i tokens an image", (model, tokens) => {
    expect(maxImageTokens(imageFormulaFor(model))).toBe(tokens);
  });

  it("gives unknown models the dearest known formula (gpt-4o-mini's)", () => {
    for (const model of [
      "my-azure-deployment",
      "claude-3-5-sonnet",
      "o10",
      "gpt-4o1",
      "",
      "gpt-50",
    ])
      expect(imageFormulaFor(model), model).toEqual(MINI);
    expect(maxImageTokens(MINI)).toBe(48_169);
  });

  it("holds every image at the most, whatever detail is asked for", () => {
    const body = (detail: string) => ({
      model: "gpt-4o-mini",
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: "https://example.com/a.png", detail } },
            { type: "input_image", image_url: "data:image/png;base64,AAAA", detail },
          ],
        },
      ],
    });
    const none = chatPromptBound({ messages: [{ role: "user", content: [] }] }, MINI);
    for (const detail of ["low", "high", "auto"])
      expect(chatPromptBound(body(detail), MINI) - none).toBeGreaterThanOrEqual(2 * 48_169);
  });
});

/** A minimal PCM WAV: a 44-byte header, then silence. */
function wav(
  sampleRate: number,
  channels: number,
  bits: number,
  seconds: number,
  byteRate?: number,
) {
  const data = Math.round(seconds * sampleRate) * channels * (bits / 8);
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + data, 4);
  header.write("WAVE", 8);
  header.write("fmt ", 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(byteRate ?? sampleRate * channels * (bits / 8), 28);
  header.writeUInt16LE(channels * (bits / 8), 32);
  header.writeUInt16LE(bits, 34);
  header.write("data", 36);
  header.writeUInt32LE(data, 40);
  return Buffer.concat([header, Buffer.alloc(data)]);
}

const withPart = (part: unknown) => ({ messages: [{ role: "user", content: [part] }] });
const partTokens = (part: unknown, formula: ImageTokenFormula = GPT_4O) =>
  chatPromptBound(withPart(part), formula) -
  chatPromptBound(withPart({ type: "text", text: "" }), formula);
const audioPart = (bytes: Buffer, format = "wav") => ({
  type: "input_audio",
  input_audio: { data: bytes.toString("base64"), format },
});

describe("audio parts", () => {
  it("count a WAV by its header's length, 20 tokens a second", () => {
    // 10 s of 16 kHz 16-bit mono: 320,044 bytes, 10.0014 s → 201 tokens.
    expect(partTokens(audioPart(wav(16_000, 1, 16, 10)))).toBe(201);
    // A byte rate that lies (claiming 1000× faster) does not shorten it.
    expect(partTokens(audioPart(wav(16_000, 1, 16, 10, 32_000_000)))).toBe(201);
    // A low sample rate lengthens it: 1 s of data at 1 kHz 8-bit is 1 s.
    expect(partTokens(audioPart(wav(1_000, 1, 8, 1)))).toBe(21);
  });

  it("count anything else at 6 kbit/s: 750 bytes a second", () => {
    const mp3 = Buffer.alloc(75_000, 0xff); // 100 s at the lowest bitrate
    expect(partTokens(audioPart(mp3, "mp3"))).toBe(2_000);
    // The hold grows with the bytes, whatever the format claims.
    expect(partTokens(audioPart(Buffer.alloc(150_000), "mp3"))).toBe(4_000);
  });
});

/** A three-page PDF: one page object in the open, two in a Flate object stream (one spelt with a #61 escape), and a compressed text stream. */
function pdf(text: Buffer): Buffer {
  const objects = deflateSync(
    "4 0 5 40 << /Type /Page /Parent 2 0 R >>\n<< /Type/P#61ge /Parent 2 0 R >>",
  );
  const content = deflateSync(text);
  return Buffer.concat([
    Buffer.from(
      "%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" +
        "2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >> endobj\n" +
        "3 0 obj << /Type /Page /Parent 2 0 R /Contents 7 0 R >> endobj\n" +
        `6 0 obj << /Type /ObjStm /N 2 /First 10 /Filter /FlateDecode /Length ${objects.length} >>\nstream\n`,
    ),
    objects,
    Buffer.from(
      `\nendstream\nendobj\n7 0 obj << /Length ${content.length} /Filter /FlateDecode >>\nstream\r\n`,
    ),
    content,
    Buffer.from("\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
  ]);
}

const filePart = (bytes: Buffer, asDataUrl = true) => ({
  type: "file",
  file: {
    filename: "a.pdf",
    file_data: asDataUrl
      ? `data:application/pdf;base64,${bytes.toString("base64")}`
      : bytes.toString("base64"),
  },
});

describe("file parts", () => {
  it("count a file's decoded bytes", () => {
    const csv = Buffer.from("a,b,c\n1,2,3\n".repeat(5_000));
    expect(partTokens(filePart(csv, false))).toBe(csv.length + "a.pdf".length);
    expect(partTokens(filePart(csv))).toBe(csv.length + "a.pdf".length);
    expect(partTokens(filePart(csv))).toBeGreaterThanOrEqual(realTokens(csv.toString()));
  });

  it("count a PDF's pages as images and its compressed text, even in object streams", () => {
    const text = Buffer.from("BT /F1 12 Tf (The quick brown fox, 1, 2, 3.) Tj ET\n".repeat(4_000));
    const file = pdf(text);
    const scan = scanPdf(file);
    expect(scan.pages).toBe(3);
    expect(scan.inflatedBytes).toBeGreaterThanOrEqual(text.length);
    expect(file.length).toBeLessThan(text.length / 50);
    const textTokens = realTokens(text.toString());
    for (const formula of [MINI, GPT_4O])
      expect(partTokens(filePart(file), formula)).toBeGreaterThanOrEqual(
        3 * maxImageTokens(formula) + textTokens,
      );
  });

  it("count a corrupt stream as far as a reader could inflate it, and stop bombs at 16 MiB", () => {
    const text = Buffer.from(
      corpus
        .map((s) => s.text)
        .join("\n")
        .repeat(3),
    );
    const compressed = deflateSync(text);
    const at = Math.floor(compressed.length * 0.9);
    compressed.fill(0xff, at, at + 64);
    const corrupt = scanPdf(
      Buffer.concat([
        Buffer.from(`%PDF-1.4\n1 0 obj << /Filter /FlateDecode >>\nstream\n`),
        compressed,
        Buffer.from("\nendstream\nendobj\n"),
      ]),
    );
    expect(corrupt.inflatedBytes).toBeGreaterThanOrEqual(0.85 * text.length);
    const bomb = deflateSync(Buffer.alloc(24 * 1024 * 1024, 0x41));
    const bombed = scanPdf(
      Buffer.concat([Buffer.from("%PDF-1.4\n1 0 obj << /Filter /FlateDecode >>\nstream\n"), bomb]),
    );
    expect(bombed.inflatedBytes).toBe(16 * 1024 * 1024);
  });

  it("hold a file known only by id at 100 pages of images and text", () => {
    const byId = { type: "file", file: { file_id: "file-abc" } };
    expect(partTokens(byId, MINI)).toBe(100 * (48_169 + 4_000));
    expect(partTokens(byId, GPT_4O)).toBe(100 * (1_445 + 4_000));
  });
});

describe("chatPromptBound", () => {
  it("counts a 1 MB json_schema response_format", () => {
    const properties: Record<string, unknown> = {};
    for (let i = 0, size = 0; size < 1_000_000; i++) {
      const property = { type: "string", description: `Value number ${i}, as 1,2,3.` };
      properties[`field_${i}`] = property;
      size += `"field_${i}":${JSON.stringify(property)},`.length;
    }
    const responseFormat = {
      type: "json_schema",
      json_schema: { name: "big", strict: true, schema: { type: "object", properties } },
    };
    const body = {
      model: "gpt-4o",
      messages: [{ role: "user", content: "hi" }],
      response_format: responseFormat,
    };
    const bound = chatPromptBound(body, GPT_4O);
    expect(JSON.stringify(responseFormat).length).toBeGreaterThan(1_000_000);
    expect(bound).toBeGreaterThan(1_000_000);
    expect(bound).toBeGreaterThanOrEqual(realTokens(JSON.stringify(responseFormat)));
  });

  it("counts every field the model reads, and leaves out those it does not", () => {
    const big = "word 1,2,3 ".repeat(2_000);
    const cost = realTokens(big);
    const base = {
      model: "gpt-4o",
      messages: [{ role: "user", content: "hi" }],
    } as Record<string, unknown>;
    const grows = (extra: Record<string, unknown>) =>
      chatPromptBound({ ...base, ...extra }, GPT_4O) - chatPromptBound(base, GPT_4O);
    const read: Record<string, unknown>[] = [
      { tools: [{ type: "function", function: { name: "f", description: big, parameters: {} } }] },
      { functions: [{ name: "f", description: big }] },
      { tool_choice: { type: "function", function: { name: big } } },
      { prediction: { type: "content", content: big } },
      { some_future_field: big },
      {
        messages: [
          { role: "user", content: "hi" },
          {
            role: "assistant",
            content: null,
            tool_calls: [{ id: "1", type: "function", function: { name: "f", arguments: big } }],
          },
        ],
      },
      {
        messages: [
          { role: "user", content: "hi" },
          { role: "tool", tool_call_id: "1", content: big },
        ],
      },
      {
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", function_call: { name: "f", arguments: big } },
        ],
      },
      { messages: [{ role: "user", content: "hi", name: big }] },
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "hi" },
              { type: "text", text: big },
            ],
          },
        ],
      },
      { messages: [{ role: "user", content: [{ type: "refusal", refusal: big }] }] },
      { messages: [{ role: "user", content: [{ type: "some_new_part", payload: big }] }] },
      { messages: [{ role: "user", content: [big] }] },
    ];
    for (const extra of read)
      expect(grows(extra), JSON.stringify(extra).slice(0, 80)).toBeGreaterThanOrEqual(cost);
    for (const extra of [
      { metadata: { note: big } },
      { user: big },
      { stop: [big] },
      { stream: true, temperature: 0.2 },
    ])
      expect(grows(extra), Object.keys(extra)[0]).toBe(0);
  });

  it("is at least the real count of the chat format on the corpus", () => {
    for (const sample of measured.filter((s) => s.bytes < 20_000)) {
      const messages = [
        { role: "system", content: "You are terse." },
        { role: "user", content: sample.text },
      ];
      // Special-token text in a message (this repository's own code spells some) is text.
      const real = encodeChat(
        messages as Parameters<typeof encodeChat>[0],
        "gpt-4o",
        asText,
      ).length;
      expect(chatPromptBound({ model: "gpt-4o", messages }, GPT_4O)).toBeGreaterThanOrEqual(real);
    }
    const tiny = [{ role: "user", content: "hi" }];
    expect(chatPromptBound({ messages: tiny }, GPT_4O)).toBeGreaterThanOrEqual(
      encodeChat(tiny as Parameters<typeof encodeChat>[0], "gpt-4o").length,
    );
  });

  it("bounds a prediction for the completion hold too", () => {
    const content = "const x = [1, 2, 3];\n".repeat(500);
    const body = { prediction: { type: "content", content } };
    expect(predictionBound(body)).toBeGreaterThanOrEqual(realTokens(content));
    expect(predictionBound({})).toBe(0);
  });

  it("replays an assistant's earlier audio at a reply's worth", () => {
    const message = { role: "assistant", audio: { id: "audio_1" } };
    expect(chatPromptBound({ messages: [message] }, GPT_4O)).toBeGreaterThan(16_384);
  });
});

describe("completionPromptBound and embeddingInputBound", () => {
  it("count strings by bytes, token ids exactly, and the suffix once per prompt", () => {
    const text = "def add(a, b):\n    return a + b\n";
    const bytes = Buffer.byteLength(text);
    expect(completionPromptBound({ prompt: text })).toBe(4 + bytes);
    expect(completionPromptBound({ prompt: [text, text] })).toBe(2 * (4 + bytes));
    expect(completionPromptBound({ prompt: [1, 2, 3] })).toBe(4 + 3);
    expect(completionPromptBound({ prompt: [[1, 2], [3]] })).toBe(4 + 2 + 4 + 1);
    expect(completionPromptBound({ prompt: [text, text], suffix: "# end" })).toBe(
      2 * (4 + bytes + 5),
    );
    expect(completionPromptBound({})).toBe(4);
    for (const sample of measured.slice(0, 50))
      expect(completionPromptBound({ prompt: sample.text })).toBeGreaterThanOrEqual(
        realTokens(sample.text),
      );
  });

  it("count embeddings inputs the same way", () => {
    expect(embeddingInputBound("héllo")).toBe(6);
    expect(embeddingInputBound(["ab", "cd"])).toBe(4);
    expect(embeddingInputBound([5, 6, 7])).toBe(3);
    expect(embeddingInputBound([[5, 6], [7]])).toBe(3);
    expect(embeddingInputBound({ odd: "shape" })).toBe(JSON.stringify({ odd: "shape" }).length);
  });
});
