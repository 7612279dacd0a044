/**
 * What each route bills, read from its upstream's usage or estimated without it: the whole API
 * in-process (test/fixtures/core.ts), the upstream answering as OpenAI documents each shape,
 * the bill read from the usage log line the call wrote. (The differential test drives the same
 * routes against a provider that charges; these are the cases it does not reach: prices by
 * tokens alone, answers that say what sluice must not believe, embeddings, moderations.)
 */
import { encode as cl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { encode as o200k } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import type { ModelPrice } from "../../shared/billing/pricing";
import { inProcessApi } from "../fixtures/core";
import { silentWav } from "../fixtures/provider/audio";

const asText = { disallowedSpecial: new Set<string>() };
const tokens = (text: string) => o200k(text, asText).length;

const GPT_IMAGE_TOKENS: ModelPrice = { input: 5, imageInput: 10, imageOutput: 40 };
const GPT_IMAGE_PER_IMAGE: ModelPrice = {
  image: {
    "1024x1024": { low: 0.011, medium: 0.042, high: 0.167 },
    "1536x1024": { low: 0.016, medium: 0.063, high: 0.25 },
  },
};

const imageAnswer = (fields: Record<string, unknown>) => ({
  json: { created: 1, data: [{ b64_json: "iVBORw0KGgo=" }], ...fields },
});

describe("images", () => {
  it("bills a gpt-image model priced by tokens from the answer's usage", async () => {
    const api = inProcessApi(
      ["gpt-image-1"],
      () =>
        imageAnswer({
          quality: "high",
          size: "1024x1024",
          usage: {
            input_tokens: 50,
            input_tokens_details: { text_tokens: 10, image_tokens: 40 },
            output_tokens: 4160,
            total_tokens: 4210,
          },
        }),
      { "gpt-image-1": GPT_IMAGE_TOKENS },
    );
    const response = await api.call("/v1/images/generations", {
      model: "gpt-image-1",
      prompt: "a red fox",
    });
    expect(response.status).toBe(200);
    expect(api.logLines[0]).toMatchObject({
      inputTokens: 10,
      imageInputTokens: 40,
      imageOutputTokens: 4160,
      // ($5 × 10 + $10 × 40 + $40 × 4160) / 1M = $0.16685 = 83,425 units.
      quota: (5 * 10 + 10 * 40 + 40 * 4160) / 2,
    });
  });

  it("estimates one without usage: the prompt's tokens and the guide's output tokens for what it made", async () => {
    const api = inProcessApi(
      ["gpt-image-1"],
      () => imageAnswer({ quality: "medium", size: "1536x1024" }),
      { "gpt-image-1": GPT_IMAGE_TOKENS },
    );
    await api.call("/v1/images/generations", { model: "gpt-image-1", prompt: "a red fox" });
    expect(api.logLines[0]).toMatchObject({
      inputTokens: tokens("a red fox"),
      imageOutputTokens: 1568,
    });
  });

  it("bills per image at the size and quality the answer made, and `auto` at the dearest when it does not say", async () => {
    const answers = [
      imageAnswer({ quality: "low", size: "1536x1024" }),
      imageAnswer({}),
      // A size the price does not list is not believed: the request's (auto) is billed.
      imageAnswer({ quality: "low", size: "999x999" }),
    ];
    const api = inProcessApi(["gpt-image-1"], () => answers.shift() ?? imageAnswer({}), {
      "gpt-image-1": GPT_IMAGE_PER_IMAGE,
    });
    for (let i = 0; i < 3; i++)
      await api.call("/v1/images/generations", { model: "gpt-image-1", prompt: "a fox" });
    expect(
      api.logLines.map((l) => [l.imageSize, l.imageQuality, (l.quota as number) / 500_000]),
    ).toEqual([
      ["1536x1024", "low", 0.016],
      ["auto", "auto", 0.25],
      ["auto", "low", 0.016],
    ]);
  });
});

describe("speech priced by tokens (gpt-4o-mini-tts)", () => {
  const PRICE: ModelPrice = { input: 0.6, audioOutput: 12 };
  const request = {
    model: "gpt-4o-mini-tts",
    voice: "alloy",
    input: "你好，世界 👋 hello",
    instructions: "Speak calmly.",
    response_format: "wav",
  };

  it("estimates the text by the tokenizer and the audio by the length it relayed", async () => {
    const api = inProcessApi(
      ["gpt-4o-mini-tts"],
      () => ({ bytes: silentWav(3.5), type: "audio/wav" }),
      { "gpt-4o-mini-tts": PRICE },
    );
    const response = await api.call("/v1/audio/speech", request);
    expect(response.status).toBe(200);
    expect(api.logLines[0]).toMatchObject({
      inputTokens: tokens(request.input) + tokens(request.instructions),
      audioOutputTokens: 70,
    });
  });

  it("bills the usage of a stream_format=sse answer", async () => {
    const event = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
    const api = inProcessApi(
      ["gpt-4o-mini-tts"],
      () => ({
        events: [
          event({ type: "speech.audio.delta", audio: silentWav(1).toString("base64") }),
          event({
            type: "speech.audio.done",
            usage: { input_tokens: 17, output_tokens: 333, total_tokens: 350 },
          }),
        ],
      }),
      { "gpt-4o-mini-tts": PRICE },
    );
    await api.call("/v1/audio/speech", { ...request, stream_format: "sse" });
    expect(api.logLines[0]).toMatchObject({ inputTokens: 17, audioOutputTokens: 333 });
  });

  it("refuses a stream_format or instructions it cannot read, before any upstream", async () => {
    const api = inProcessApi(["gpt-4o-mini-tts"], () => {
      throw new Error("the upstream must not be called");
    });
    for (const bad of [{ stream_format: "websocket" }, { instructions: 42 }]) {
      const response = await api.call("/v1/audio/speech", { ...request, ...bad });
      expect(response.status).toBe(400);
    }
  });
});

describe("embeddings and moderations", () => {
  it("reads an embedding's prompt_tokens, and counts its input with its family's tokenizer without them", async () => {
    let usage = true;
    const api = inProcessApi(["text-embedding-3-small"], () => ({
      json: {
        object: "list",
        data: [{ object: "embedding", index: 0, embedding: [0.1] }],
        model: "text-embedding-3-small",
        ...(usage && { usage: { prompt_tokens: 7, total_tokens: 7 } }),
      },
    }));
    const body = { model: "text-embedding-3-small", input: ["déjà vu", "hello world", [1, 2, 3]] };
    await api.call("/v1/embeddings", body);
    usage = false;
    await api.call("/v1/embeddings", body);
    expect(api.logLines.map((l) => l.promptTokens)).toEqual([
      7,
      cl100k("déjà vu").length + cl100k("hello world").length + 3,
    ]);
  });

  it("counts a priced moderation's input, and not a free one's", async () => {
    const api = inProcessApi(
      ["omni-moderation-latest", "priced-moderation"],
      () => ({ json: { id: "modr-1", model: "m", results: [{ flagged: false }] } }),
      { "omni-moderation-latest": { free: true }, "priced-moderation": { input: 1 } },
    );
    for (const model of ["omni-moderation-latest", "priced-moderation"])
      await api.call("/v1/moderations", { model, input: ["I will kill the process", "hello"] });
    expect(api.logLines.map((l) => [l.promptTokens, l.quota])).toEqual([
      [0, 0],
      [tokens("I will kill the process") + tokens("hello"), expect.any(Number)],
    ]);
  });
});
