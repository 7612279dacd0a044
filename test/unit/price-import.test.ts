/**
 * Importing prices (issue 19): real new-api ratio exports and a real LiteLLM excerpt
 * (test/fixtures/price-exports/) give the prices an operator would enter by hand from the same
 * data, so every usage shape — cache reads and writes, reasoning, audio, images, long-context
 * tiers — bills the same; and the imported prices bill what new-api's and LiteLLM's own
 * formulas charge for that usage (written here from their documentation, independently of
 * sluice's code). Bad data is refused, naming the model and the field.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { costInUnits } from "../../shared/billing/cost";
import type { Metered } from "../../shared/billing/metered";
import type { ModelPrice } from "../../shared/billing/pricing";
import { InvalidRequest } from "../../shared/errors";
import { modelPrices } from "../../shared/management/model-prices";
import { fromLiteLlm } from "../../shared/management/price-import/litellm";
import { fromNewApi } from "../../shared/management/price-import/new-api";

type Json = Record<string, unknown>;
const fixture = (name: string): Json =>
  JSON.parse(readFileSync(new URL(`../fixtures/price-exports/${name}`, import.meta.url), "utf8"));

const AS_OF = "2026-12-01";
const NEW_API = fixture("newapi-options.json");
const BASELLM = fixture("basellm-anthropic-ratio-config.json");
const LITELLM = fixture("litellm-excerpt.json");

/** Usage of every kind of token, and past each long-context threshold of the data. */
const TOKEN_SHAPES: Metered[] = [
  { inputTokens: 1_200, outputTokens: 300 },
  // A second turn, mostly cached (the gpt-4o-mini example).
  { inputTokens: 147, cachedInputTokens: 5_120, outputTokens: 250 },
  { inputTokens: 75, outputTokens: 162, reasoningTokens: 1_024 },
  {
    inputTokens: 50,
    cachedInputTokens: 10_000,
    cacheWriteTokens: 3_000,
    cacheWrite1hTokens: 2_000,
    outputTokens: 500,
  },
  // At and past 128K (xAI bills from it), 200K (Anthropic) and 272K (OpenAI) prompt tokens, cache reads counted.
  { inputTokens: 128_000, outputTokens: 10 },
  { inputTokens: 130_000, outputTokens: 900 },
  { inputTokens: 190_000, cachedInputTokens: 20_000, cacheWriteTokens: 1_000, outputTokens: 1_000 },
  {
    inputTokens: 180_000,
    cachedInputTokens: 15_000,
    cacheWrite1hTokens: 10_000,
    outputTokens: 700,
  },
  { inputTokens: 250_000, cachedInputTokens: 30_000, outputTokens: 2_000, reasoningTokens: 4_000 },
  { inputTokens: 20, audioInputTokens: 600, outputTokens: 30, audioOutputTokens: 900 },
  { inputTokens: 40, imageInputTokens: 1_000, cachedInputTokens: 2_000, imageOutputTokens: 4_160 },
];

/** The shapes a price can bill (an image price bills images; a per-call price, calls). */
function shapesFor(price: ModelPrice): Metered[] {
  const shapes: Metered[] = [...TOKEN_SHAPES, { calls: 1 }];
  if (price.ttsPerMillionChars !== undefined) shapes.push({ ttsCharacters: 1_234 });
  if (price.sttPerMinute !== undefined) shapes.push({ sttSeconds: 95 });
  for (const [size, qualities] of Object.entries(price.image ?? {}))
    for (const quality of Object.keys(qualities))
      shapes.push({ images: { count: 2, size, quality } });
  return shapes;
}

/** The price as sluice keeps it, without where and when it was read (which bill nothing). */
function priceOnly(price: ModelPrice | undefined): ModelPrice {
  const { source: _source, asOf: _asOf, ...rest } = price ?? {};
  return rest;
}

/** Imported and hand-entered prices are the same price, and bill every shape the same. */
function expectSameBills(
  imported: Record<string, ModelPrice>,
  byHand: Record<string, Record<string, unknown>>,
) {
  const hand = modelPrices(byHand);
  for (const [model, price] of Object.entries(hand)) {
    expect(priceOnly(imported[model]), model).toEqual(price);
    for (const metered of shapesFor(price)) {
      for (const multipliers of [[1], [0.8, 0.5]]) {
        expect(
          costInUnits(imported[model] as ModelPrice, metered, multipliers),
          `${model} ${JSON.stringify(metered)}`,
        ).toBe(costInUnits(price, metered, multipliers));
      }
    }
  }
}

/** A bill in units against a cost in USD worked out apart: the same to the unit ($0.000002). */
function expectBilled(price: ModelPrice, metered: Metered, usd: number, what: string) {
  const units = costInUnits(price, metered, [1]);
  expect(Math.abs(units - usd / 0.000002), `${what}: ${units} units for $${usd}`).toBeLessThan(1);
}

describe("new-api's ratio export", () => {
  const imported = fromNewApi(NEW_API, AS_OF);
  const prices = modelPrices(imported.models);

  it("reads GET /api/option/'s answer, its option values JSON texts", () => {
    expect(Object.keys(prices).sort()).toEqual([
      "claude-haiku-4-5",
      "claude-haiku-4-5-20251001",
      "claude-opus-4-7",
      "claude-sonnet-4-6",
      "dall-e-3",
      "gemini-2.5-pro",
      "gpt-4o-mini-tts",
      "gpt-5.4",
      "gpt-5.5",
      "gpt-image-2",
      "sora-2",
    ]);
    expect(imported.groups).toEqual({ default: 1, vip: 1, svip: 1 });
    expect(prices["gpt-5.4"]).toMatchObject({ source: "new-api ratio export", asOf: AS_OF });
    // Ratios of models nothing prices, and settings sluice has no price for, are said.
    expect(imported.skipped.map((skip) => skip.model).sort()).toEqual([
      "gpt-4o-audio-preview",
      "gpt-image-1",
      "tts-1",
    ]);
    expect(imported.skipped[0]?.reason).toMatch(/neither ModelRatio nor ModelPrice/);
    expect(imported.remarks.join(" ")).toContain("GroupGroupRatio is not imported");
    expect(imported.notes["gpt-4o-mini-tts"]).toEqual([
      "ModelPrice wins over AudioRatio, AudioCompletionRatio, as in new-api: billed per call.",
    ]);
  });

  it("gives the prices entered by hand from the same settings: the same bills", () => {
    // Read with new-api's rules: ratio 1 = $2 per 1M input tokens; the other ratios multiply
    // the input price; CreateCacheRatio 1.25 where it names no model, 1-hour writes 1.6 times.
    expectSameBills(prices, {
      "claude-haiku-4-5": {
        input: 1,
        cached_input: 0.1,
        cache_write: 1.25,
        cache_write_1h: 2,
        output: 5,
      },
      "claude-opus-4-7": {
        input: 5,
        cached_input: 0.5,
        cache_write: 6.25,
        cache_write_1h: 10,
        output: 25,
      },
      "gemini-2.5-pro": {
        input: 2.5,
        cached_input: 0.25,
        cache_write: 3.125,
        cache_write_1h: 5,
        output: 15,
      },
      "gpt-5.4": {
        input: 2.5,
        cached_input: 0.25,
        cache_write: 3.125,
        cache_write_1h: 5,
        output: 22.5,
      },
      "gpt-image-2": {
        input: 8,
        cached_input: 0.8,
        cache_write: 10,
        cache_write_1h: 16,
        output: 30,
      },
      "dall-e-3": { per_call: 0.04 },
      "gpt-4o-mini-tts": { per_call: 0.3 },
      "sora-2": { per_call: 0.3 },
    });
  });

  it("bills what new-api's own formula charges", () => {
    const settings = optionsOf(NEW_API);
    for (const [model, price] of Object.entries(prices)) {
      for (const metered of [...TOKEN_SHAPES, { calls: 1 }]) {
        expectBilled(price, metered, newApiUsd(settings, model, metered), model);
      }
    }
  });

  it("reads the same settings in every shape new-api exports them", () => {
    const settings = optionsOf(NEW_API);
    const snake: Record<string, string> = {
      ModelRatio: "model_ratio",
      CompletionRatio: "completion_ratio",
      CacheRatio: "cache_ratio",
      CreateCacheRatio: "create_cache_ratio",
      ModelPrice: "model_price",
      ImageRatio: "image_ratio",
      AudioRatio: "audio_ratio",
      AudioCompletionRatio: "audio_completion_ratio",
    };
    // The options as one object (its settings page), maps or JSON texts.
    const asObject = Object.fromEntries(Object.entries(settings));
    const asTexts = Object.fromEntries(
      Object.entries(settings).map(([key, map]) => [key, JSON.stringify(map)]),
    );
    // GET /api/ratio_config: {success, data: {model_ratio, …}}.
    const { GroupRatio: _groups, ...ratios } = settings;
    const ratioConfig = {
      success: true,
      message: "",
      data: Object.fromEntries(
        Object.entries(ratios).map(([key, map]) => [snake[key] as string, map]),
      ),
    };
    // GET /api/pricing: a model a line, quota_type 1 when priced per call; group_ratio beside.
    const models = new Set([
      ...Object.keys(settings.ModelRatio ?? {}),
      ...Object.keys(settings.ModelPrice ?? {}),
    ]);
    const pricingList = {
      success: true,
      group_ratio: settings.GroupRatio,
      data: [...models].map((model) => ({
        model_name: model,
        quota_type: settings.ModelPrice?.[model] === undefined ? 0 : 1,
        ...Object.fromEntries(
          Object.entries(snake).flatMap(([key, name]) => {
            const value = settings[key]?.[model];
            return value === undefined ? [] : [[name, value]];
          }),
        ),
      })),
    };
    for (const shape of [asObject, asTexts, ratioConfig, pricingList]) {
      const again = fromNewApi(shape, AS_OF);
      expect(modelPrices(again.models)).toEqual(prices);
    }
    expect(fromNewApi(pricingList, AS_OF).groups).toEqual(settings.GroupRatio);
  });

  it("reads basellm's ratio preset (GET /api/ratio_config), float noise and all", () => {
    const preset = modelPrices(fromNewApi(BASELLM, AS_OF).models);
    expectSameBills(preset, {
      "claude-sonnet-4-5": {
        input: 3,
        cached_input: 0.3,
        cache_write: 3.75,
        cache_write_1h: 6,
        output: 15,
      },
      "claude-3-haiku-20240307": {
        input: 0.25,
        cached_input: 0.03,
        cache_write: 0.3125,
        cache_write_1h: 0.5,
        output: 1.25,
      },
    });
    const settings = optionsOf(BASELLM);
    for (const [model, price] of Object.entries(preset))
      for (const metered of TOKEN_SHAPES)
        expectBilled(price, metered, newApiUsd(settings, model, metered), model);
  });
});

describe("LiteLLM's model_prices_and_context_window.json", () => {
  const imported = fromLiteLlm(LITELLM, AS_OF);
  const prices = modelPrices(imported.models);

  it("imports the kinds of call sluice relays, and says why it skips the rest", () => {
    expect(Object.fromEntries(imported.skipped.map((skip) => [skip.model, skip.reason]))).toEqual({
      sample_spec: "LiteLLM's description of its fields.",
      "dashscope/qwen-flash": expect.stringContaining("tiered_pricing"),
      "amazon.rerank-v1:0": expect.stringContaining('mode "rerank"'),
      "gemini/veo-3.1-generate-preview": expect.stringContaining('mode "video_generation"'),
    });
    // An image's size and quality entries are prices of the model's images.
    expect(prices["gpt-image-1"]?.image).toEqual({
      "1024x1024": { high: 0.167, low: 0.011 },
    });
    expect(Object.keys(prices)).not.toContain("high/1024-x-1024/gpt-image-1");
    // What it leaves out is said: service tiers, per-query search fees.
    expect(imported.notes["gpt-5.4"]?.join(" ")).toMatch(
      /Not imported: .*input_cost_per_token_flex.*output_cost_per_token_priority/,
    );
    expect(prices["gpt-5.4"]).toMatchObject({
      source: "LiteLLM model_prices_and_context_window.json",
      asOf: AS_OF,
    });
    expect(prices["xai/grok-4-0709"]?.source).toBe("https://docs.x.ai/docs/models");
  });

  it("gives the prices entered by hand from the same entries: the same bills", () => {
    // Rates per token × 1,000,000; `_above_<N>k_tokens` a tier of the whole call past N thousand
    // (xAI's from N itself); per character and per second as per 1M characters and per minute.
    expectSameBills(prices, {
      "gpt-4o-mini": { input: 0.15, cached_input: 0.075, output: 0.6, default_max_tokens: 16_384 },
      "gpt-5.4": {
        input: 2.5,
        cached_input: 0.25,
        output: 15,
        tiers: [
          { above: 272_000, basis: "whole", rates: { input: 5, cached_input: 0.5, output: 22.5 } },
        ],
        default_max_tokens: 128_000,
      },
      "gpt-5-pro": { input: 15, output: 120, default_max_tokens: 128_000 },
      "claude-sonnet-4-5-20250929": {
        input: 3,
        cached_input: 0.3,
        cache_write: 3.75,
        cache_write_1h: 6,
        output: 15,
        tiers: [
          {
            above: 200_000,
            basis: "whole",
            rates: {
              input: 6,
              cached_input: 0.6,
              cache_write: 7.5,
              cache_write_1h: 12,
              output: 22.5,
            },
          },
        ],
        default_max_tokens: 64_000,
      },
      // LiteLLM lists no 1-hour write past 200K for Sonnet 4: such writes keep the model's rate.
      "claude-sonnet-4-20250514": {
        input: 3,
        cached_input: 0.3,
        cache_write: 3.75,
        cache_write_1h: 6,
        output: 15,
        tiers: [
          {
            above: 200_000,
            basis: "whole",
            rates: {
              input: 6,
              cached_input: 0.6,
              cache_write: 7.5,
              cache_write_1h: 6,
              output: 22.5,
            },
          },
        ],
        default_max_tokens: 64_000,
      },
      "claude-haiku-4-5": {
        input: 1,
        cached_input: 0.1,
        cache_write: 1.25,
        cache_write_1h: 2,
        output: 5,
        default_max_tokens: 64_000,
      },
      "gpt-4o-audio-preview": {
        input: 2.5,
        audio_input: 40,
        output: 10,
        audio_output: 80,
        default_max_tokens: 16_384,
      },
      "gpt-4o-mini-tts": { input: 2.5, output: 10, audio_output: 12 },
      "tts-1": { tts_per_million_chars: 15 },
      "whisper-1": { stt_per_minute: 0.006 },
      "gpt-image-1": {
        input: 5,
        cached_input: 1.25,
        image_input: 10,
        image_output: 40,
        image: { "1024x1024": { high: 0.167, low: 0.011 } },
      },
      "dall-e-3": {
        image: {
          default: { default: 0.04 },
          "1024x1024": { standard: 0.04 },
          "1024x1792": { hd: 0.119991 },
        },
      },
      "text-embedding-3-small": { input: 0.02, output: 0 },
      "deepseek/deepseek-chat": {
        input: 0.28,
        cached_input: 0.028,
        cache_write: 0,
        output: 0.42,
        default_max_tokens: 8_192,
      },
      "perplexity/sonar-deep-research": { input: 2, output: 8, reasoning: 3 },
      "xai/grok-4-0709": {
        input: 3,
        output: 15,
        tiers: [{ above: 127_999, basis: "whole", rates: { input: 6, output: 30 } }],
        default_max_tokens: 256_000,
      },
    });
  });

  it("bills what LiteLLM's cost map charges for the kinds an entry prices", () => {
    for (const [model, price] of Object.entries(prices)) {
      const entry = LITELLM[model] as Json;
      for (const shape of TOKEN_SHAPES) {
        const metered = pricedKinds(entry, shape);
        if (Object.keys(metered).length === 0) continue;
        expectBilled(price, metered, liteLlmUsd(entry, metered), model);
      }
    }
  });
});

describe("bad data", () => {
  const refusal = (run: () => unknown) => {
    try {
      run();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidRequest);
      return (err as Error).message;
    }
    throw new Error("not refused");
  };

  it("is refused, naming the model and the field", () => {
    const option = (key: string, value: unknown) => ({ success: true, data: [{ key, value }] });
    expect(refusal(() => fromNewApi(option("ModelRatio", '{"gpt-4o": "1.25x"}'), AS_OF))).toBe(
      'new-api option ModelRatio["gpt-4o"] must be a number, 0 or more (it is "1.25x").',
    );
    expect(refusal(() => fromNewApi({ CacheRatio: { "gpt-4o": -0.5 } }, AS_OF))).toMatch(
      /new-api CacheRatio\["gpt-4o"\] must be a number, 0 or more/,
    );
    expect(refusal(() => fromNewApi(option("ModelRatio", '{"gpt-4o": 1.25'), AS_OF))).toMatch(
      /^new-api option ModelRatio is not JSON/,
    );
    expect(refusal(() => fromNewApi(option("ModelRatio", "[1, 2]"), AS_OF))).toMatch(
      /ModelRatio must map names to numbers/,
    );
    expect(refusal(() => fromNewApi({ SystemName: "New API" }, AS_OF))).toMatch(
      /has none of ModelRatio, CompletionRatio/,
    );
    expect(refusal(() => fromNewApi([{ model_name: "" }], AS_OF))).toMatch(/data\[0\]/);
    expect(
      refusal(() =>
        fromLiteLlm({ "gpt-x": { mode: "chat", input_cost_per_token: "cheap" } }, AS_OF),
      ),
    ).toBe(
      'LiteLLM entry "gpt-x": input_cost_per_token must be a number, 0 or more (it is "cheap").',
    );
    expect(
      refusal(() =>
        fromLiteLlm({ "gpt-x": { input_cost_per_token_above_200k_tokens: -1 } }, AS_OF),
      ),
    ).toMatch(/"gpt-x": input_cost_per_token_above_200k_tokens must be a number/);
    expect(refusal(() => fromLiteLlm({ "gpt-x": 3 }, AS_OF))).toMatch(/"gpt-x" must be an object/);
    expect(refusal(() => fromLiteLlm([1, 2], AS_OF))).toMatch(/must be an object of model entries/);
  });
});

// ---------------------------------------------------------------------------------------------
// The other gateways' formulas, from their documentation (research/prices/newapi-format.md,
// litellm-format.md), for the shapes they define.

type Settings = Record<string, Record<string, number>>;

/** An options export as maps of numbers (option values parsed). */
function optionsOf(data: Json): Settings {
  const settings: Settings = {};
  const snake: Record<string, string> = {
    model_ratio: "ModelRatio",
    completion_ratio: "CompletionRatio",
    cache_ratio: "CacheRatio",
    create_cache_ratio: "CreateCacheRatio",
    model_price: "ModelPrice",
  };
  const body = data.data;
  if (Array.isArray(body)) {
    for (const { key, value } of body as { key: string; value: string }[]) {
      if (/Ratio$|Price$/.test(key) && key !== "GroupGroupRatio" && key !== "TopupGroupRatio")
        settings[key] = JSON.parse(value);
    }
  } else {
    for (const [key, map] of Object.entries(body as Json))
      if (snake[key]) settings[snake[key] as string] = map as Record<string, number>;
  }
  return settings;
}

/**
 * new-api's charge in USD: ModelPrice per call, or (prompt + completion) × ModelRatio quota
 * units of $0.000002, where cached tokens count CacheRatio (1 when unset), 5-minute cache
 * writes CreateCacheRatio (1.25), 1-hour writes 6/3.75 of that, image tokens ImageRatio,
 * completion (reasoning in it) CompletionRatio (1), and with an AudioRatio, audio in ×
 * AudioRatio and audio out × AudioRatio × AudioCompletionRatio.
 */
function newApiUsd(settings: Settings, model: string, m: Metered): number {
  const perCall = settings.ModelPrice?.[model];
  if (perCall !== undefined) return perCall * (m.calls ?? 1);
  const ratio = (key: string, fallback: number) => settings[key]?.[model] ?? fallback;
  const audio = settings.AudioRatio?.[model];
  const completion = ratio("CompletionRatio", 1);
  const write = ratio("CreateCacheRatio", 1.25);
  const n = (value: number | undefined) => value ?? 0;
  const quota =
    (n(m.inputTokens) +
      n(m.cachedInputTokens) * ratio("CacheRatio", 1) +
      n(m.cacheWriteTokens) * write +
      n(m.cacheWrite1hTokens) * write * (6 / 3.75) +
      n(m.imageInputTokens) * ratio("ImageRatio", 1) +
      (n(m.outputTokens) + n(m.reasoningTokens) + n(m.imageOutputTokens)) * completion +
      (audio === undefined
        ? n(m.audioInputTokens) + n(m.audioOutputTokens) * completion
        : n(m.audioInputTokens) * audio +
          n(m.audioOutputTokens) * audio * ratio("AudioCompletionRatio", 1))) *
    (settings.ModelRatio?.[model] ?? 0);
  return quota / 500_000;
}

/** The LiteLLM key that prices each token kind. */
const LITELLM_KEYS: Partial<Record<keyof Metered, string>> = {
  inputTokens: "input_cost_per_token",
  cachedInputTokens: "cache_read_input_token_cost",
  cacheWriteTokens: "cache_creation_input_token_cost",
  cacheWrite1hTokens: "cache_creation_input_token_cost_above_1hr",
  audioInputTokens: "input_cost_per_audio_token",
  imageInputTokens: "input_cost_per_image_token",
  outputTokens: "output_cost_per_token",
  reasoningTokens: "output_cost_per_token",
  audioOutputTokens: "output_cost_per_audio_token",
  imageOutputTokens: "output_cost_per_image_token",
};

/**
 * The kinds of `shape` an entry prices: LiteLLM bills a kind whose key an entry lacks at 0
 * (its _get_cost_per_unit default), which no operator means, so those are not compared.
 */
function pricedKinds(entry: Json, shape: Metered): Metered {
  const out: Metered = {};
  for (const [kind, key] of Object.entries(LITELLM_KEYS) as [keyof Metered, string][]) {
    const count = shape[kind];
    if (typeof count === "number" && entry[key] !== undefined)
      (out as Record<string, number>)[kind] = count;
  }
  // A long prompt's tiers are chosen by its prompt: keep it whole, or drop the shape.
  const prompt = (m: Metered) =>
    Object.entries(m)
      .filter(([kind]) => !/output|reasoning/i.test(kind))
      .reduce((sum, [, count]) => sum + (count as number), 0);
  return prompt(out) === prompt(shape) ? out : {};
}

/**
 * LiteLLM's charge in USD: each kind × its key's rate; past a threshold the entry's
 * `input_cost_per_token_above_<N>k_tokens` names (the prompt, cache reads and writes counted;
 * from N itself for xAI), the highest one passed reprices input, output, cache reads and
 * writes with its own `_above_` keys, any it lacks keeping the model's rate; reasoning at
 * output_cost_per_reasoning_token, else the output rate.
 */
function liteLlmUsd(entry: Json, m: Metered): number {
  const prompt = [
    m.inputTokens,
    m.cachedInputTokens,
    m.cacheWriteTokens,
    m.cacheWrite1hTokens,
    m.audioInputTokens,
    m.imageInputTokens,
  ].reduce((sum: number, n) => sum + (n ?? 0), 0);
  const inclusive = entry.litellm_provider === "xai";
  const threshold = Object.keys(entry)
    .flatMap((key) => {
      const match = /^input_cost_per_token_above_(\d+)k_tokens$/.exec(key);
      return match ? [Number(match[1]) * 1000] : [];
    })
    .sort((a, b) => b - a)
    .find((n) => prompt > n || (inclusive && prompt === n));
  const k = threshold === undefined ? "" : `_above_${threshold / 1000}k_tokens`;
  const rate = (key: string) => (entry[`${key}${k}`] ?? entry[key] ?? 0) as number;
  const n = (value: number | undefined) => value ?? 0;
  return (
    n(m.inputTokens) * rate("input_cost_per_token") +
    n(m.cachedInputTokens) * rate("cache_read_input_token_cost") +
    n(m.cacheWriteTokens) * rate("cache_creation_input_token_cost") +
    n(m.cacheWrite1hTokens) * rate("cache_creation_input_token_cost_above_1hr") +
    n(m.audioInputTokens) * ((entry.input_cost_per_audio_token as number) ?? 0) +
    n(m.imageInputTokens) * ((entry.input_cost_per_image_token as number) ?? 0) +
    n(m.outputTokens) * rate("output_cost_per_token") +
    n(m.reasoningTokens) *
      ((entry.output_cost_per_reasoning_token as number) ?? rate("output_cost_per_token")) +
    n(m.audioOutputTokens) * ((entry.output_cost_per_audio_token as number) ?? 0) +
    n(m.imageOutputTokens) * ((entry.output_cost_per_image_token as number) ?? 0)
  );
}
