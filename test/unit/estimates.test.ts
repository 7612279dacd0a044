/**
 * sluice's estimates of what a call consumed when its upstream reports no usage, against the
 * documented answers: the real tokenizers (gpt-tokenizer, tiktoken's ranks) per model family,
 * the cookbook's chat and function counts, the vision guide's image examples, the audio rule,
 * and gpt-image's output table.
 */
import { encode as cl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { encode as o200k } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import {
  audioInputTokens,
  audioOutputTokens,
  upstreamAudioSeconds,
} from "../../shared/billing/estimates/audio";
import {
  estimateChatAnswer,
  estimateChatPrompt,
  estimateCompletionPrompt,
  estimateInput,
} from "../../shared/billing/estimates/chat";
import { gptImageOutputTokens, imageTokens } from "../../shared/billing/estimates/images";
import { estimateSpeech } from "../../shared/billing/estimates/speech";
import { imageFormulaFor } from "../../shared/billing/prompt-bound";
import { countTokens, encodingFor } from "../../shared/billing/tokens";
import { dataUrlBytes, imageSize } from "../../shared/media/image-size";
import { SpeechAnswer } from "../../shared/relay/speech-answer";
import { COOKBOOK_MESSAGES, COOKBOOK_TOOL_MESSAGES, COOKBOOK_TOOLS } from "../fixtures/cookbook";
import { silentWav } from "../fixtures/provider/audio";
import { pngDataUrl, solidPng } from "../fixtures/provider/png";
import { tokenCorpus } from "../fixtures/token-corpus";

const asText = { disallowedSpecial: new Set<string>() };

describe("the tokenizer of a model's family (tiktoken's model.py)", () => {
  it.each([
    ["gpt-4o", "o200k_base"],
    ["gpt-4o-mini-2024-07-18", "o200k_base"],
    ["chatgpt-4o-latest", "o200k_base"],
    ["gpt-4.1-nano", "o200k_base"],
    ["gpt-4.5-preview", "o200k_base"],
    ["gpt-5", "o200k_base"],
    ["gpt-5.2-pro-2025-12-11", "o200k_base"],
    ["o1", "o200k_base"],
    ["o3-mini", "o200k_base"],
    ["o4-mini", "o200k_base"],
    ["ft:gpt-4o-mini-2024-07-18:acme::abc", "o200k_base"],
    ["gpt-image-1", "o200k_base"],
    ["gpt-4o-mini-tts", "o200k_base"],
    ["gpt-4", "cl100k_base"],
    ["gpt-4-0613", "cl100k_base"],
    ["gpt-4-turbo", "cl100k_base"],
    ["gpt-4-32k", "cl100k_base"],
    ["gpt-3.5-turbo-0125", "cl100k_base"],
    ["gpt-35-turbo", "cl100k_base"],
    ["text-embedding-3-small", "cl100k_base"],
    ["text-embedding-ada-002", "cl100k_base"],
    ["davinci-002", "cl100k_base"],
    ["ft:gpt-3.5-turbo-0613:acme::xyz", "cl100k_base"],
    ["openai/gpt-4", "cl100k_base"],
    // Other families: the documented fallback.
    ["claude-sonnet-4-5", "o200k_base"],
    ["deepseek-chat", "o200k_base"],
    ["gemini-2.5-pro", "o200k_base"],
  ])("%s uses %s", (model, encoding) => {
    expect(encodingFor(model)).toBe(encoding);
  });

  it("counts as the real BPE does, for each family, on the token corpus", async () => {
    for (const { text } of tokenCorpus().slice(0, 60)) {
      expect(await countTokens(text, "gpt-4o")).toBe(o200k(text, asText).length);
      expect(await countTokens(text, "gpt-4")).toBe(cl100k(text, asText).length);
    }
  });

  it("counts special-token text as the plain text it is (the API never lets a caller's text become one)", async () => {
    const text = "a <|endoftext|> b <|im_start|>";
    expect(await countTokens(text, "gpt-4o")).toBe(o200k(text, asText).length);
    expect(await countTokens(text, "gpt-4o")).toBeGreaterThan(4);
    expect(await countTokens("", "gpt-4o")).toBe(0);
  });
});

describe("a chat prompt, as the cookbook counts it", () => {
  it("is the API's count on the cookbook's messages: 124 (gpt-4o, gpt-4o-mini), 129 (gpt-4, gpt-3.5-turbo)", async () => {
    for (const [model, expected] of [
      ["gpt-4o", 124],
      ["gpt-4o-mini", 124],
      ["gpt-4", 129],
      ["gpt-3.5-turbo", 129],
    ] as const)
      expect(await estimateChatPrompt({ messages: COOKBOOK_MESSAGES }, model)).toEqual({
        inputTokens: expected,
      });
  });

  it("is the API's count on the cookbook's tools example: 101 (gpt-4o), 105 (gpt-4)", async () => {
    const body = { messages: COOKBOOK_TOOL_MESSAGES, tools: COOKBOOK_TOOLS };
    expect(await estimateChatPrompt(body, "gpt-4o")).toEqual({ inputTokens: 101 });
    expect(await estimateChatPrompt(body, "gpt-4o-mini")).toEqual({ inputTokens: 101 });
    expect(await estimateChatPrompt(body, "gpt-4")).toEqual({ inputTokens: 105 });
    // The legacy `functions` list is the same definitions.
    const functions = {
      messages: COOKBOOK_TOOL_MESSAGES,
      functions: [COOKBOOK_TOOLS[0]?.function],
    };
    expect(await estimateChatPrompt(functions, "gpt-4o")).toEqual({ inputTokens: 101 });
  });

  it("counts an image by its model's rule at its own size (the vision guide's 765 and 1,452 patches)", async () => {
    const text = (
      await estimateChatPrompt({ messages: [{ role: "user", content: "x" }] }, "gpt-4o")
    ).inputTokens as number;
    const withImage = (model: string, url: string, detail?: string) =>
      estimateChatPrompt(
        {
          messages: [
            {
              role: "user",
              content: [
                { type: "text", text: "x" },
                { type: "image_url", image_url: { url, ...(detail && { detail }) } },
              ],
            },
          ],
        },
        model,
      );
    expect(await withImage("gpt-4o", pngDataUrl(solidPng(1024, 1024)))).toEqual({
      inputTokens: text,
      imageInputTokens: 765,
    });
    expect(await withImage("gpt-4o", pngDataUrl(solidPng(2048, 4096)), "low")).toEqual({
      inputTokens: text,
      imageInputTokens: 85,
    });
    expect(await withImage("gpt-4.1-mini", pngDataUrl(solidPng(1800, 2400)))).toEqual({
      inputTokens: text,
      imageInputTokens: Math.ceil(1452 * 1.62),
    });
    // An image sluice cannot see is a large 4:3 photo: 2048×1536 → 1024×768 → 4 tiles.
    expect(await withImage("gpt-4o", "https://example.com/cat.png")).toEqual({
      inputTokens: text,
      imageInputTokens: 85 + 4 * 170,
    });
  });

  it("counts input audio by the documented 1 token per 100 ms, and tool calls by what the model wrote", async () => {
    const audio = silentWav(6.05, 16_000).toString("base64");
    const estimate = await estimateChatPrompt(
      {
        messages: [
          {
            role: "user",
            content: [{ type: "input_audio", input_audio: { data: audio, format: "wav" } }],
          },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: "2" },
        ],
      },
      "gpt-4o-audio-preview",
    );
    const tokens = (text: string) => o200k(text, asText).length;
    expect(estimate).toEqual({
      audioInputTokens: 61,
      inputTokens:
        3 * 3 +
        3 +
        tokens("user") +
        tokens("assistant") +
        tokens("f") +
        tokens('{"a":1}') +
        tokens("tool") +
        tokens("call_1") +
        tokens("2"),
    });
  });

  it("never throws, whatever the request holds", async () => {
    for (const body of [
      {},
      { messages: "x" },
      {
        messages: [
          null,
          1,
          "x",
          { content: [null, 1, { type: "image_url" }, { type: "input_audio" }] },
        ],
      },
      {
        messages: [],
        tools: [
          null,
          { type: "web_search" },
          { function: { parameters: { properties: { a: null } } } },
        ],
      },
    ])
      expect((await estimateChatPrompt(body, "gpt-4o")).inputTokens).toBeGreaterThanOrEqual(3);
  });
});

describe("answers, legacy prompts and inputs", () => {
  it("counts every choice's text, tool calls, reasoning text and spoken audio", async () => {
    const tokens = (text: string) => o200k(text, asText).length;
    const spoken = silentWav(2.5).toString("base64");
    expect(
      await estimateChatAnswer(
        {
          choices: [
            { message: { content: "Hello there.", reasoning_content: "The user greets." } },
            {
              message: {
                content: null,
                tool_calls: [{ function: { name: "f", arguments: "{}" } }],
              },
            },
            { message: { content: null, audio: { data: spoken, transcript: "Hi." } } },
          ],
        },
        "gpt-4o",
      ),
    ).toEqual({
      outputTokens: tokens("Hello there.") + tokens("f") + tokens("{}") + tokens("Hi."),
      reasoningTokens: tokens("The user greets."),
      audioOutputTokens: 50,
    });
    expect(await estimateChatAnswer(undefined, "gpt-4o")).toEqual({});
  });

  it("counts legacy prompts and embeddings inputs as they are, token ids one each", async () => {
    const tokens = (text: string) => cl100k(text, asText).length;
    expect(
      await estimateCompletionPrompt(
        { prompt: ["Say this", [1, 2, 3]], suffix: "end" },
        "gpt-3.5-turbo-instruct",
      ),
    ).toEqual({ inputTokens: tokens("Say this") + 3 + tokens("end") });
    expect(await estimateInput(["a b c", "déjà vu"], "text-embedding-3-small")).toEqual({
      inputTokens: tokens("a b c") + tokens("déjà vu"),
    });
    expect(await estimateInput([[1, 2], [3]], "text-embedding-3-small")).toEqual({
      inputTokens: 3,
    });
    // Moderation parts: their text.
    expect(
      await estimateInput(
        [
          { type: "text", text: "hello" },
          { type: "image_url", image_url: {} },
        ],
        "omni-moderation-latest",
      ),
    ).toEqual({ inputTokens: o200k("hello").length });
  });
});

describe("images, audio and speech", () => {
  it("reads an image's size from PNG, JPEG, GIF and WebP headers", () => {
    expect(imageSize(solidPng(1600, 1200))).toEqual({ width: 1600, height: 1200 });
    const jpeg = Buffer.from([
      0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00,
      0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xc2, 0x00, 0x11, 0x08, 0x02, 0x58, 0x03, 0x20, 0x03,
      0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01,
    ]);
    expect(imageSize(jpeg)).toEqual({ width: 800, height: 600 });
    const gif = Buffer.from("GIF89a\x40\x01\xf0\x00\x00\x00\x00", "latin1");
    expect(imageSize(gif)).toEqual({ width: 320, height: 240 });
    const riff = (chunk: string, body: number[]) =>
      Buffer.concat([
        Buffer.from("RIFF\0\0\0\0WEBP", "latin1"),
        Buffer.from(chunk, "latin1"),
        Buffer.from([0, 0, 0, 0, ...body]),
      ]);
    // VP8: frame tag, start code, 14-bit width and height.
    expect(imageSize(riff("VP8 ", [0, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]))).toEqual({
      width: 640,
      height: 480,
    });
    // VP8L: signature, then width-1 and height-1 in 14 bits each.
    const bits = (640 - 1) | ((480 - 1) << 14);
    expect(
      imageSize(
        riff("VP8L", [0x2f, bits & 0xff, (bits >> 8) & 0xff, (bits >> 16) & 0xff, bits >>> 24]),
      ),
    ).toEqual({
      width: 640,
      height: 480,
    });
    // VP8X: flags, reserved, then 24-bit width-1 and height-1.
    expect(imageSize(riff("VP8X", [0, 0, 0, 0, 0x7f, 0x07, 0, 0xff, 0x03, 0]))).toEqual({
      width: 1920,
      height: 1024,
    });
    for (const junk of [
      Buffer.alloc(0),
      Buffer.from("not an image"),
      solidPng(10, 10).subarray(0, 18),
      jpeg.subarray(0, 24),
    ])
      expect(imageSize(junk)).toBeUndefined();
    expect(dataUrlBytes("https://example.com/a.png")).toBeUndefined();
    expect(imageSize(dataUrlBytes(pngDataUrl(solidPng(3, 5))) as Uint8Array)).toEqual({
      width: 3,
      height: 5,
    });
  });

  it("counts images by the guide's tiles and patches", () => {
    const gpt4o = imageFormulaFor("gpt-4o");
    expect(imageTokens(gpt4o, { width: 1024, height: 1024 })).toBe(765);
    expect(imageTokens(gpt4o, { width: 2048, height: 4096 })).toBe(1105);
    expect(imageTokens(gpt4o, { width: 128, height: 64 })).toBe(85 + 170);
    expect(imageTokens(imageFormulaFor("o4-mini"), { width: 1024, height: 1024 })).toBe(
      Math.ceil(1024 * 1.72),
    );
  });

  it("counts gpt-image outputs by the guide's table, auto as the dearest", () => {
    expect(gptImageOutputTokens("low", "1024x1024")).toBe(272);
    expect(gptImageOutputTokens("medium", "1536x1024")).toBe(1568);
    expect(gptImageOutputTokens("high", "1024x1536")).toBe(6240);
    expect(gptImageOutputTokens("auto", "auto")).toBe(6240);
    expect(gptImageOutputTokens(undefined, "1024x1024")).toBe(4160);
    expect(gptImageOutputTokens("low", "auto")).toBe(408);
    // A size the table does not list: high's square count, scaled by the area.
    expect(gptImageOutputTokens("high", "2048x2048")).toBe(4 * 4160);
  });

  it("counts audio by the documented rule: 1 token per 100 ms read, per 50 ms spoken", () => {
    expect(audioInputTokens(6)).toBe(60);
    expect(audioInputTokens(6.01)).toBe(61);
    expect(audioOutputTokens(2.5)).toBe(50);
    expect(audioOutputTokens(0)).toBe(0);
    expect(audioOutputTokens(Number.NaN)).toBe(0);
    expect(upstreamAudioSeconds(silentWav(3))).toBe(3);
    // Raw AAC (ADTS): 1,024 samples a frame at the frame's rate (index 3: 48 kHz).
    const frame = Buffer.from([0xff, 0xf1, 0x4c, 0x80, 0x01, 0x20, 0xfc, 0, 0]);
    expect(upstreamAudioSeconds(Buffer.concat(new Array(375).fill(frame)))).toBeCloseTo(8, 6);
  });

  it("estimates token-priced speech from its text and the length of its audio", async () => {
    const tokens = (text: string) => o200k(text, asText).length;
    const input = "你好，世界 👋 hello";
    expect(
      await estimateSpeech({ input, instructions: "Cheerful." }, "gpt-4o-mini-tts", 2),
    ).toEqual({
      inputTokens: tokens(input) + tokens("Cheerful."),
      audioOutputTokens: 40,
    });
    // Audio of unknown length: ~6 audio tokens per input token, longer when slower.
    expect(await estimateSpeech({ input, speed: 0.5 }, "gpt-4o-mini-tts", undefined)).toEqual({
      inputTokens: tokens(input),
      audioOutputTokens: 12 * tokens(input),
    });
  });

  it("reads a speech answer as it goes by: an SSE stream's usage, else its audio's length", () => {
    const sse = new SpeechAnswer("mp3", true);
    const event = (data: unknown) => new TextEncoder().encode(`data: ${JSON.stringify(data)}\n\n`);
    sse.observe(event({ type: "speech.audio.delta", audio: silentWav(1).toString("base64") }));
    expect(sse.usage).toBeUndefined();
    const done = event({
      type: "speech.audio.done",
      usage: { input_tokens: 14, output_tokens: 101, total_tokens: 115 },
    });
    // An event split across network chunks is read whole.
    sse.observe(done.subarray(0, 20));
    sse.observe(done.subarray(20));
    expect(sse.usage).toEqual({ inputTokens: 14, audioOutputTokens: 101 });
    const pcm = new SpeechAnswer("pcm", false);
    pcm.observe(new Uint8Array(48_000));
    pcm.observe(new Uint8Array(24_000));
    expect(pcm.seconds()).toBe(1.5);
    const wav = new SpeechAnswer("wav", false);
    const audio = silentWav(2.5);
    wav.observe(audio.subarray(0, 100));
    wav.observe(audio.subarray(100));
    expect(wav.seconds()).toBe(2.5);
    expect(new SpeechAnswer("aac", false).seconds()).toBe(0);
    const unknown = new SpeechAnswer("opus", false);
    unknown.observe(new TextEncoder().encode("not audio at all"));
    expect(unknown.seconds()).toBeUndefined();
  });
});
