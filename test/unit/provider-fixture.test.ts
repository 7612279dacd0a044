/**
 * The provider fixture (test/fixtures/provider) against OpenAI's own examples: the numbers
 * typed here are the documented answers (cookbook, vision guide, image generation guide),
 * each with where it comes from. The differential test trusts the fixture only as far as
 * these hold.
 */
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COOKBOOK_MESSAGES, COOKBOOK_TOOL_MESSAGES, COOKBOOK_TOOLS } from "../fixtures/cookbook";
import {
  billedSeconds,
  inputAudioTokens,
  outputAudioTokens,
  silentWav,
  speechSeconds,
  wavSeconds,
} from "../fixtures/provider/audio";
import { cachedTokens, PromptCache } from "../fixtures/provider/cache";
import { renderChatPrompt } from "../fixtures/provider/chat-prompt";
import { IMAGE_OUTPUT_TOKENS } from "../fixtures/provider/images";
import { type ProviderFixture, startProvider } from "../fixtures/provider/index";
import { pngDataUrl, pngSize, solidPng } from "../fixtures/provider/png";
import { chargeUsd, ratesOf } from "../fixtures/provider/prices";
import {
  countText,
  encodingFor,
  numTokensFromMessages,
  toolTokens,
} from "../fixtures/provider/tokens";
import { imageTokens, patchesOf, visionRuleFor } from "../fixtures/provider/vision";

describe("token counts (OpenAI cookbook, How to count tokens with tiktoken)", () => {
  it("encodes the cookbook's example strings as tiktoken does", () => {
    // §5 compare_encodings outputs.
    expect(countText("antidisestablishmentarianism", "o200k_base")).toBe(6);
    expect(countText("antidisestablishmentarianism", "cl100k_base")).toBe(6);
    expect(countText("2 + 2 = 4", "o200k_base")).toBe(7);
    expect(countText("2 + 2 = 4", "cl100k_base")).toBe(7);
    expect(countText("お誕生日おめでとう", "o200k_base")).toBe(8);
    expect(countText("お誕生日おめでとう", "cl100k_base")).toBe(9);
  });

  it("picks each family's encoding as tiktoken's model table does", () => {
    for (const model of [
      "gpt-4o-mini",
      "gpt-4o",
      "gpt-4.1",
      "gpt-4.1-mini",
      "gpt-5-mini",
      "o4-mini",
    ])
      expect(encodingFor(model)).toBe("o200k_base");
    for (const model of ["gpt-4", "gpt-4-0613", "gpt-3.5-turbo", "gpt-3.5-turbo-0125"])
      expect(encodingFor(model)).toBe("cl100k_base");
    expect(() => encodingFor("claude-sonnet-4-5")).toThrow(/no tokenizer/);
  });

  it("counts the cookbook's chat example as the API did: 124 (gpt-4o, gpt-4o-mini), 129 (gpt-4, gpt-3.5-turbo)", () => {
    expect(numTokensFromMessages(COOKBOOK_MESSAGES, "o200k_base")).toBe(124);
    expect(numTokensFromMessages(COOKBOOK_MESSAGES, "cl100k_base")).toBe(129);
    // The rendered prompt (what caching and usage use) agrees with the cookbook's sum.
    for (const [model, expected] of [
      ["gpt-4o-mini", 124],
      ["gpt-4o", 124],
      ["gpt-4", 129],
      ["gpt-3.5-turbo", 129],
    ] as const) {
      const prompt = renderChatPrompt({ messages: COOKBOOK_MESSAGES }, model);
      expect(prompt.sequence).toHaveLength(expected);
      expect(prompt.textTokens).toBe(expected);
    }
  });

  it("counts the cookbook's tools example as the API did: 101 (gpt-4o, gpt-4o-mini), 105 (gpt-4, gpt-3.5-turbo)", () => {
    const body = { messages: COOKBOOK_TOOL_MESSAGES, tools: COOKBOOK_TOOLS };
    expect(renderChatPrompt(body, "gpt-4o").sequence).toHaveLength(101);
    expect(renderChatPrompt(body, "gpt-4o-mini").sequence).toHaveLength(101);
    expect(renderChatPrompt(body, "gpt-4").sequence).toHaveLength(105);
    expect(renderChatPrompt(body, "gpt-3.5-turbo").sequence).toHaveLength(105);
    expect(toolTokens([], "o200k_base")).toBe(0);
  });

  it("treats special-token text in a message as plain text, as the API does", () => {
    expect(countText("<|endoftext|>", "o200k_base")).toBeGreaterThan(1);
  });
});

describe("prompt caching (OpenAI prompt caching guide)", () => {
  it("caches from 1024 tokens, in 128-token steps", () => {
    expect(cachedTokens(1023)).toBe(0);
    expect(cachedTokens(1024)).toBe(1024);
    expect(cachedTokens(1151)).toBe(1024);
    expect(cachedTokens(1152)).toBe(1152);
    expect(cachedTokens(5267)).toBe(5248);
  });

  it("hits only an exact prefix the same model (and key) saw before", () => {
    const cache = new PromptCache();
    const base = Array.from({ length: 3000 }, (_, i) => i);
    expect(cache.read("m", undefined, base)).toBe(0);
    expect(cache.read("m", undefined, base)).toBe(2944);
    // Diverges after 1100 tokens: 1024 of them cached.
    expect(cache.read("m", undefined, [...base.slice(0, 1100), -5, ...base.slice(1101)])).toBe(
      1024,
    );
    // Diverges before 1024: nothing.
    expect(cache.read("m", undefined, [...base.slice(0, 1000), -5, ...base.slice(1001)])).toBe(0);
    expect(cache.read("other-model", undefined, base)).toBe(0);
    expect(cache.read("m", "another-key", base)).toBe(0);
    // A prompt under 1024 tokens is never cached, even when seen before.
    expect(cache.read("m", undefined, base.slice(0, 1000))).toBe(0);
  });
});

describe("image tokens (OpenAI vision guide, Calculating costs)", () => {
  it("counts tiles for gpt-4o and gpt-4.1: the guide's examples", () => {
    const rule = visionRuleFor("gpt-4o");
    expect(imageTokens(rule, 1024, 1024, "high")).toBe(765);
    expect(imageTokens(rule, 2048, 4096, "high")).toBe(1105);
    expect(imageTokens(rule, 4096, 8192, "low")).toBe(85);
    expect(imageTokens(visionRuleFor("gpt-4.1"), 1024, 1024)).toBe(765);
    // gpt-4o-mini: the same tiles at 2833 + 5667 each (usage-shapes.md §8).
    expect(imageTokens(visionRuleFor("gpt-4o-mini"), 1024, 1024)).toBe(2833 + 4 * 5667);
  });

  it("counts patches for gpt-4.1-mini, gpt-5-mini and o4-mini: the guide's examples", () => {
    expect(patchesOf(1024, 1024, 1536)).toBe(1024);
    expect(patchesOf(1800, 2400, 1536)).toBe(1452);
    expect(imageTokens(visionRuleFor("gpt-4.1-mini"), 1024, 1024)).toBe(Math.ceil(1024 * 1.62));
    expect(imageTokens(visionRuleFor("gpt-5-mini"), 1800, 2400)).toBe(Math.ceil(1452 * 1.62));
    expect(imageTokens(visionRuleFor("o4-mini"), 1024, 1024)).toBe(Math.ceil(1024 * 1.72));
  });

  it("reads a real PNG's size and counts it in a chat prompt", () => {
    const png = solidPng(2048, 4096);
    expect(pngSize(png)).toEqual({ width: 2048, height: 4096 });
    const text = renderChatPrompt({ messages: [{ role: "user", content: "x" }] }, "gpt-4o");
    const withImage = renderChatPrompt(
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "x" },
              { type: "image_url", image_url: { url: pngDataUrl(png), detail: "high" } },
            ],
          },
        ],
      },
      "gpt-4o",
    );
    expect(withImage.imageTokens).toBe(1105);
    expect(withImage.textTokens).toBe(text.textTokens);
  });
});

describe("audio and speech rules", () => {
  it("counts audio 1 token per 100 ms in and per 50 ms out (OpenAI realtime costs guide)", () => {
    expect(inputAudioTokens(5)).toBe(50);
    expect(inputAudioTokens(5.01)).toBe(51);
    expect(outputAudioTokens(5)).toBe(100);
  });

  it("bills whisper in whole seconds, rounded up", () => {
    expect(billedSeconds(8.5)).toBe(9);
    expect(billedSeconds(9)).toBe(9);
    expect(billedSeconds(9.001)).toBe(10);
  });

  it("reads the played length of a WAV it wrote", () => {
    expect(wavSeconds(silentWav(2.5))).toBe(2.5);
    expect(wavSeconds(silentWav(8.5, 16_000))).toBe(8.5);
  });
});

describe("the fixture as a server", () => {
  let provider: ProviderFixture;
  let client: OpenAI;
  beforeAll(async () => {
    provider = await startProvider({ tokensPerSecond: 2000 });
    client = new OpenAI({ baseURL: provider.baseUrl, apiKey: "sk-fixture", maxRetries: 0 });
  });
  afterAll(async () => {
    expect(provider.errors).toEqual([]);
    await provider.close();
  });

  const rate = (model: string) => ratesOf(model);
  const longPrompt = (seed: string) =>
    Array.from({ length: 600 }, (_, i) => `${seed} sentence ${i} about the weather.`).join(" ");

  it("reports and charges cached tokens on the second turn", async () => {
    const system = longPrompt("cache");
    const turn1 = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: system },
        { role: "user", content: "first question" },
      ],
    });
    expect(turn1.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const turn2 = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: system },
        { role: "user", content: "first question" },
        { role: "assistant", content: turn1.choices[0]?.message.content ?? "" },
        { role: "user", content: "second question" },
      ],
    });
    const usage = turn2.usage;
    const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
    expect(cached % 128).toBe(0);
    expect(cached).toBeGreaterThan((usage?.prompt_tokens ?? 0) - 128 - 20);
    const entry = provider.ledger.at(-1);
    const r = rate("gpt-4o-mini");
    const expected =
      (((usage?.prompt_tokens ?? 0) - cached) * (r.input as number) +
        cached * (r.cachedInput as number) +
        (usage?.completion_tokens ?? 0) * (r.output as number)) /
      1e6;
    expect(entry?.usd).toBeCloseTo(expected, 12);
  });

  it("reasons before it answers, and reports reasoning tokens", async () => {
    provider.plan("reason-plain-1", { reasoningTokens: 300, reply: "four" });
    const answer = await client.chat.completions.create({
      model: "o4-mini",
      messages: [{ role: "user", content: "reason-plain-1: 2+2?" }],
    });
    expect(answer.choices[0]?.message.content).toBe("four");
    expect(answer.usage?.completion_tokens_details?.reasoning_tokens).toBe(300);
    expect(answer.usage?.completion_tokens).toBe(300 + countText("four", "o200k_base"));
  });

  it("refuses max_tokens for a reasoning model, as OpenAI does", async () => {
    const error = await client.chat.completions
      .create({ model: "gpt-5-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 5 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe("max_tokens");
  });

  it("streams nothing while reasoning, then the answer, then usage", async () => {
    provider.plan("reason-stream-1", { reasoningTokens: 200, reply: "The answer is four." });
    const chunks = [];
    for await (const chunk of await client.chat.completions.create({
      model: "gpt-5-mini",
      messages: [{ role: "user", content: "reason-stream-1" }],
      stream: true,
      stream_options: { include_usage: true },
    }))
      chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("The answer is four.");
    const usage = chunks.at(-1)?.usage;
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(200);
  });

  it("charges a stream the caller hangs up on mid-reasoning what it reasoned until then", async () => {
    provider.plan("hangup-1", { reasoningTokens: 20_000 });
    const controller = new AbortController();
    const stream = client.chat.completions.create(
      { model: "gpt-5-mini", messages: [{ role: "user", content: "hangup-1" }], stream: true },
      { signal: controller.signal },
    );
    await provider.reasoned("hangup-1", 500);
    controller.abort();
    await stream.then(
      () => {},
      () => {},
    );
    const [entry] = await provider.entriesFor("hangup-1");
    expect(entry?.outcome).toBe("client_closed");
    expect(entry?.consumed.reasoningTokens).toBeGreaterThanOrEqual(500);
    expect(entry?.consumed.reasoningTokens).toBeLessThan(20_000);
    expect(entry?.consumed.outputTokens).toBe(0);
  });

  it("generates a non-streamed answer to its end and charges it in full, even when the caller left", async () => {
    provider.plan("late-1", { reasoningTokens: 2000 });
    const controller = new AbortController();
    const call = client.chat.completions
      .create(
        { model: "o4-mini", messages: [{ role: "user", content: "late-1" }] },
        { signal: controller.signal },
      )
      .catch((e) => e);
    await provider.reasoned("late-1", 100);
    controller.abort();
    expect(await call).toBeInstanceOf(Error);
    const [entry] = await provider.entriesFor("late-1");
    expect(entry).toMatchObject({ outcome: "completed", delivered: false });
    expect(entry?.consumed.reasoningTokens).toBe(2000);
  });

  it("cuts a stream mid-way and charges what it generated", async () => {
    const reply = "one two three four five six seven eight nine ten eleven twelve thirteen";
    provider.plan("cut-1", { reply, cutAfterTokens: 8 });
    let text = "";
    const error = await (async () => {
      for await (const chunk of await client.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "cut-1" }],
        stream: true,
      }))
        text += chunk.choices[0]?.delta.content ?? "";
    })().catch((e) => e);
    expect(error).toBeInstanceOf(Error);
    const [entry] = await provider.entriesFor("cut-1");
    expect(entry?.outcome).toBe("cut");
    expect(entry?.consumed.outputTokens).toBe(countText(text, "o200k_base"));
    expect(reply.startsWith(text)).toBe(true);
    expect(text.length).toBeLessThan(reply.length);
  });

  it("leaves usage out when told to, and still charges", async () => {
    provider.plan("nousage-1", { omitUsage: true });
    const answer = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "nousage-1 你好，世界" }],
    });
    expect(answer.usage).toBeUndefined();
    expect(answer.choices[0]?.message.content).toBe("nousage-1 你好，世界");
    const [entry] = await provider.entriesFor("nousage-1");
    expect(entry?.usd).toBeGreaterThan(0);
  });

  it("counts audio in and out of gpt-4o-audio-preview", async () => {
    const answer = await client.chat.completions.create({
      model: "gpt-4o-audio-preview",
      modalities: ["text", "audio"],
      audio: { voice: "alloy", format: "wav" },
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Say it back." },
            {
              type: "input_audio",
              input_audio: { data: silentWav(3.2, 16_000).toString("base64"), format: "wav" },
            },
          ],
        },
      ],
    });
    const transcript = answer.choices[0]?.message.audio?.transcript ?? "";
    expect(transcript).toBe("Say it back.");
    const audioOut = Buffer.from(answer.choices[0]?.message.audio?.data ?? "", "base64");
    expect(wavSeconds(audioOut)).toBeCloseTo(speechSeconds(transcript), 3);
    expect(answer.usage?.prompt_tokens_details?.audio_tokens).toBe(32);
    expect(answer.usage?.completion_tokens_details?.audio_tokens).toBe(
      outputAudioTokens(speechSeconds(transcript)),
    );
  });

  it("bills gpt-image-1 from tokens: auto is high quality, square for a plain prompt", async () => {
    const image = await client.images.generate({ model: "gpt-image-1", prompt: "a red fox" });
    expect(image.usage?.output_tokens).toBe(IMAGE_OUTPUT_TOKENS.high?.["1024x1024"]);
    expect(IMAGE_OUTPUT_TOKENS.high?.["1024x1024"]).toBe(4160); // the guide's table
    expect(IMAGE_OUTPUT_TOKENS.medium?.["1024x1536"]).toBe(1584);
    expect(IMAGE_OUTPUT_TOKENS.low?.["1536x1024"]).toBe(400);
    expect(image.usage?.input_tokens_details.text_tokens).toBe(
      countText("a red fox", "o200k_base"),
    );
    expect(pngSize(Buffer.from(image.data?.[0]?.b64_json ?? "", "base64"))).toEqual({
      width: 1024,
      height: 1024,
    });
    const landscape = await client.images.generate({
      model: "gpt-image-1",
      prompt: "a landscape",
      quality: "low",
    });
    expect(landscape.usage?.output_tokens).toBe(400);
  });

  it("bills speech: tts-1 per character, gpt-4o-mini-tts per token", async () => {
    provider.plan("tts-1-n", {});
    const input = "tts-1-n 你好，世界 😀 こんにちは";
    await client.audio.speech.create({
      model: "tts-1",
      voice: "alloy",
      input,
      response_format: "wav",
    });
    const [tts] = await provider.entriesFor("tts-1-n");
    expect(tts?.consumed.characters).toBe([...input].length);
    expect(tts?.usd).toBeCloseTo(
      ([...input].length * (rate("tts-1").perMillionCharacters as number)) / 1e6,
      12,
    );
    provider.plan("mini-tts-n", {});
    const speech = await client.audio.speech.create({
      model: "gpt-4o-mini-tts",
      voice: "alloy",
      input: `mini-tts-n ${input}`,
      response_format: "wav",
    });
    const wav = Buffer.from(await speech.arrayBuffer());
    const [mini] = await provider.entriesFor("mini-tts-n");
    expect(mini?.consumed.audioOutputTokens).toBe(outputAudioTokens(wavSeconds(wav)));
    expect(mini?.consumed.inputTokens).toBe(countText(`mini-tts-n ${input}`, "o200k_base"));
  });

  it("bills whisper in whole seconds and tells the exact duration in verbose_json", async () => {
    const file = await toFile(silentWav(8.5, 16_000), "speech.wav");
    const answer = await client.audio.transcriptions.create({
      model: "whisper-1",
      file,
      response_format: "verbose_json",
    });
    expect(answer.duration).toBe(8.5);
    expect((answer as unknown as { usage: unknown }).usage).toEqual({
      type: "duration",
      seconds: 9,
    });
    expect(provider.ledger.at(-1)?.usd).toBeCloseTo(
      (9 * (rate("whisper-1").perMinute as number)) / 60,
      12,
    );
  });

  it("bills gpt-4o-transcribe's prompt at the text rate and its audio at the audio rate", async () => {
    const prompt = "Names: Sluice, DynamoDB, fauxqs.";
    const answer = await client.audio.transcriptions.create({
      model: "gpt-4o-transcribe",
      file: await toFile(silentWav(4, 16_000), "speech.wav"),
      prompt,
    });
    const usage = answer.usage as Extract<typeof answer.usage, { type: "tokens" }>;
    expect(usage.input_token_details?.text_tokens).toBe(countText(prompt, "o200k_base"));
    expect(usage.input_token_details?.audio_tokens).toBe(inputAudioTokens(4));
    const r = rate("gpt-4o-transcribe");
    expect(provider.ledger.at(-1)?.usd).toBeCloseTo(
      (inputAudioTokens(4) * (r.audioInput as number) +
        countText(prompt, "o200k_base") * (r.input as number) +
        usage.output_tokens * (r.output as number)) /
        1e6,
      12,
    );
  });

  it("counts requests per client request: the same body twice is one key, twice", async () => {
    provider.plan("dup-1", {});
    const body = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "dup-1" }] };
    await client.chat.completions.create(body);
    await client.chat.completions.create(body);
    const entries = await provider.entriesFor("dup-1");
    expect(entries).toHaveLength(2);
    expect(entries[0]?.key).toBe(entries[1]?.key);
  });

  it("refuses a model it does not price with OpenAI's 404, and charges nothing", async () => {
    const error = await client.chat.completions
      .create({ model: "gpt-9", messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect(provider.ledger.at(-1)).toMatchObject({ outcome: "refused", usd: 0 });
  });

  it("prices with its own table: a kind it has no rate for throws rather than bill 0", () => {
    expect(() => chargeUsd("gpt-4o-mini", { audioInputTokens: 10 })).toThrow(/audio input/);
  });
});
