/**
 * The price model (issue 19): rates per kind of usage with fallbacks, long-context tiers of
 * both bases, the bill's breakdown, and holds that no bill within the call's bounds exceeds.
 */
import { describe, expect, it } from "vitest";
import { bill, costInUnits, holdInUnits, imagePrice } from "../../shared/billing/cost";
import { loggedUsage } from "../../shared/billing/logged-usage";
import {
  completionTokensOf,
  INPUT_KINDS,
  type Metered,
  OUTPUT_KINDS,
  promptTokensOf,
} from "../../shared/billing/metered";
import { DEFAULT_PRICING, type ModelPrice, type PriceTier } from "../../shared/billing/pricing";
import { RATE_KINDS, rateOf } from "../../shared/billing/rates";
import { LEGACY_PRICES } from "../fixtures/legacy-prices";

/**
 * sluice's bill before issue 19, verbatim but for names (git show ed10ddc:shared/billing/cost.ts):
 * existing price lists must bill today's usage exactly as it did.
 */
interface LegacyMetered {
  promptTokens?: number;
  completionTokens?: number;
  images?: { count: number; size: string; quality: string };
  ttsCharacters?: number;
  sttMilliseconds?: number;
}
function legacyCostInUnits(price: ModelPrice, metered: LegacyMetered, multipliers: number[]) {
  const MICRO = 1_000_000n;
  const PICO_USD_PER_UNIT = 2_000_000n;
  const count = (value: number | undefined) => (value && value > 0 ? BigInt(Math.ceil(value)) : 0n);
  const micro = (value: number) => BigInt(Math.round(value * 1e6));
  if (price.free) return 0;
  let pico = 0n;
  pico += count(metered.promptTokens) * micro(price.input ?? 0);
  pico += count(metered.completionTokens) * micro(price.output ?? 0);
  pico += count(metered.ttsCharacters) * micro(price.ttsPerMillionChars ?? 0);
  if (metered.images) {
    const perImage = imagePrice(price, metered.images.size, metered.images.quality);
    pico += count(metered.images.count) * micro(perImage) * MICRO;
  }
  let denominator = PICO_USD_PER_UNIT;
  if (metered.sttMilliseconds) {
    pico = pico * 60_000n + count(metered.sttMilliseconds) * micro(price.sttPerMinute ?? 0) * MICRO;
    denominator *= 60_000n;
  }
  for (const multiplier of multipliers) {
    pico *= micro(multiplier);
    denominator *= MICRO;
  }
  return Number((pico + denominator - 1n) / denominator);
}

/** A seeded generator, so a failure can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return {
    next,
    int: (most: number) => Math.floor(next() * (most + 1)),
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T,
    /** A price in USD per 1M tokens, to the millionth, as PUT /api/pricing keeps them. */
    usd: () => Math.round(next() * 30 * 1e6) / 1e6,
  };
}

/** `total` split at random among `kinds`. */
function split<K extends string>(
  rng: ReturnType<typeof random>,
  total: number,
  kinds: readonly K[],
): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  let left = total;
  for (const [i, kind] of kinds.entries()) {
    const n = i === kinds.length - 1 ? left : rng.int(left);
    if (n > 0) out[kind] = n;
    left -= n;
  }
  return out;
}

const MULTIPLIERS = [[1], [0.5], [1.5, 0.5], [0.8, 1]];

describe("existing price lists bill exactly as before", () => {
  // The built-in list of before: prices of input and output alone, as operators have saved.
  const models = Object.entries(LEGACY_PRICES);

  it("every model of the old built-in list, today's shapes: tokens, images, characters, seconds", () => {
    const rng = random(19);
    for (const [model, price] of models) {
      for (let i = 0; i < 200; i++) {
        const prompt = rng.int(i % 2 ? 2_000_000 : 3_000);
        const completion = rng.int(i % 2 ? 200_000 : 3_000);
        const multipliers = rng.pick(MULTIPLIERS);
        expect(
          costInUnits(price, { inputTokens: prompt, outputTokens: completion }, multipliers),
          `${model} ${prompt}/${completion}`,
        ).toBe(
          legacyCostInUnits(
            price,
            { promptTokens: prompt, completionTokens: completion },
            multipliers,
          ),
        );
        const characters = rng.int(100_000);
        expect(costInUnits(price, { ttsCharacters: characters }, multipliers)).toBe(
          legacyCostInUnits(price, { ttsCharacters: characters }, multipliers),
        );
        const seconds = rng.int(3_600);
        expect(
          costInUnits(price, { sttSeconds: seconds }, multipliers),
          `${model} ${seconds}s`,
        ).toBe(legacyCostInUnits(price, { sttMilliseconds: seconds * 1000 }, multipliers));
      }
      for (const [size, qualities] of Object.entries(price.image ?? {})) {
        for (const quality of Object.keys(qualities)) {
          const images = { count: 1 + rng.int(9), size, quality };
          expect(costInUnits(price, { images }, [1])).toBe(
            legacyCostInUnits(price, { images }, [1]),
          );
        }
      }
    }
  });

  it("a usage with cached, cache-write, reasoning, audio and image tokens costs what its sums did", () => {
    const rng = random(7);
    for (const [model, price] of models) {
      for (let i = 0; i < 100; i++) {
        const metered: Metered = {
          ...split(rng, rng.int(50_000), INPUT_KINDS),
          ...split(rng, rng.int(20_000), OUTPUT_KINDS),
        };
        const multipliers = rng.pick(MULTIPLIERS);
        expect(costInUnits(price, metered, multipliers), model).toBe(
          legacyCostInUnits(
            price,
            {
              promptTokens: promptTokensOf(metered),
              completionTokens: completionTokensOf(metered),
            },
            multipliers,
          ),
        );
      }
    }
  });
});

describe("fallbacks: a kind without a rate is billed at the rate it is a part of", () => {
  const cases: { price: ModelPrice; expected: Record<string, number> }[] = [
    {
      price: { input: 2, output: 8 },
      expected: {
        input: 2,
        cachedInput: 2,
        cacheWrite: 2,
        cacheWrite1h: 2,
        audioInput: 2,
        cachedAudioInput: 2,
        imageInput: 2,
        cachedImageInput: 2,
        output: 8,
        reasoning: 8,
        audioOutput: 8,
        imageOutput: 8,
      },
    },
    {
      price: { input: 3, output: 15, cachedInput: 0.3, cacheWrite: 3.75, audioInput: 40 },
      expected: {
        cachedInput: 0.3,
        cacheWrite: 3.75,
        // 1-hour writes fall back to 5-minute writes, not to input.
        cacheWrite1h: 3.75,
        audioInput: 40,
        // Cached audio falls back to audio, not to cached text.
        cachedAudioInput: 40,
        imageInput: 3,
        // No image rate: images are text here, and their cache reads cached text.
        cachedImageInput: 0.3,
        reasoning: 15,
      },
    },
    // A price that bills audio and images as text bills their cache reads as cached text.
    {
      price: { input: 2.5, output: 10, cachedInput: 1.25 },
      expected: { cachedAudioInput: 1.25, cachedImageInput: 1.25, audioInput: 2.5 },
    },
    {
      price: { input: 5, output: 40, imageInput: 10, cachedImageInput: 2.5, reasoning: 60 },
      expected: { cachedImageInput: 2.5, imageInput: 10, cachedInput: 5, reasoning: 60 },
    },
    // No input rate: the prompt is not billed, as it never was.
    { price: { output: 4 }, expected: { input: 0, cachedInput: 0, audioOutput: 4 } },
  ];

  it.each(cases)("$price", ({ price, expected }) => {
    for (const [kind, rate] of Object.entries(expected)) {
      expect(rateOf(price, undefined, kind as (typeof RATE_KINDS)[number]), kind).toBe(rate);
    }
  });

  it("bills each kind at its rate: 1M tokens of each", () => {
    const price: ModelPrice = { input: 1.25, output: 10, cachedInput: 0.125 };
    const { units, costs } = bill(
      price,
      { inputTokens: 1_000_000, cachedInputTokens: 1_000_000, reasoningTokens: 1_000_000 },
      [1],
    );
    // $1.25 + $0.125 + $10 = $11.375 = 5,687,500 units.
    expect(units).toBe(5_687_500);
    expect(costs).toEqual({ input: 625_000, cachedInput: 62_500, reasoning: 5_000_000 });
  });
});

describe("long-context tiers", () => {
  // Claude Sonnet 4.5 (research/prices/list-prices.md): past 200K prompt tokens, cache reads
  // and writes included, every token of the call at the long-context rates.
  const sonnet: ModelPrice = {
    input: 3,
    output: 15,
    cachedInput: 0.3,
    cacheWrite: 3.75,
    cacheWrite1h: 6,
    tiers: [
      {
        above: 200_000,
        basis: "whole",
        rates: { input: 6, output: 22.5, cachedInput: 0.6, cacheWrite: 7.5, cacheWrite1h: 12 },
      },
    ],
  };
  // Expected: Σ tokens × USD per 1M (so micro-dollars), which a bill rounds up to whole units of 2.
  it.each([
    // At the threshold: the base rates. 200,000 × $3 + 1,000 × $15.
    [{ inputTokens: 200_000, outputTokens: 1_000 }, 200_000 * 3 + 1_000 * 15],
    // One past it: every token at the tier's. 200,001 × $6 + 1,000 × $22.5.
    [{ inputTokens: 200_001, outputTokens: 1_000 }, 200_001 * 6 + 1_000 * 22.5],
    // Cache reads count toward the threshold, and are billed at the tier's cache rate.
    [
      { inputTokens: 1_000, cachedInputTokens: 199_001, outputTokens: 1_000 },
      1_000 * 6 + 199_001 * 0.6 + 1_000 * 22.5,
    ],
    // Below it, cache reads and 1-hour writes at their base rates.
    [
      { inputTokens: 1_000, cachedInputTokens: 100_000, cacheWrite1hTokens: 10_000 },
      1_000 * 3 + 100_000 * 0.3 + 10_000 * 6,
    ],
  ] as [Metered, number][])("whole: %o costs %d micro-dollars", (metered, microUsd) => {
    expect(bill(sonnet, metered, [1]).units).toBe(Math.ceil(Math.round(microUsd * 10) / 20));
  });

  it("whole: the highest tier passed applies; a rate the tier lacks falls back in the tier, then to the base", () => {
    const price: ModelPrice = {
      input: 1,
      output: 2,
      reasoning: 3,
      tiers: [
        { above: 100, basis: "whole", rates: { input: 10 } },
        { above: 1_000, basis: "whole", rates: { input: 20, output: 30 } },
      ],
    };
    // Costs are in units: tokens × USD per 1M / 2. Past 100: input 10; cached falls back to the tier's input; output and reasoning are the base's.
    expect(
      bill(
        price,
        { inputTokens: 100, cachedInputTokens: 1, outputTokens: 1, reasoningTokens: 1 },
        [1],
      ).costs,
    ).toEqual({ input: 500, cachedInput: 5, output: 1, reasoning: 1.5 });
    // Past 1,000: the second tier; its output rate bills reasoning too (the chain within the tier).
    expect(
      bill(price, { inputTokens: 1_001, outputTokens: 1, reasoningTokens: 1 }, [1]).costs,
    ).toEqual({ input: 10_010, output: 15, reasoning: 15 });
  });

  it("excess: only the prompt's tokens past each threshold at that tier's input rates", () => {
    const price: ModelPrice = {
      input: 1,
      cachedInput: 0.1,
      output: 4,
      tiers: [
        { above: 1_000, basis: "excess", rates: { input: 2, cachedInput: 0.2 } },
        { above: 2_000, basis: "excess", rates: { input: 3 } },
      ],
    };
    const tokensTimesRate = (metered: Metered) => {
      const { costs } = bill(price, metered, [1]);
      // Units × 2 = tokens × USD per 1M: readable sums.
      return Object.fromEntries(Object.entries(costs).map(([k, v]) => [k, v * 2]));
    };
    // 1,500 input: 1,000 at $1, 500 at $2; output always at the base rate.
    expect(tokensTimesRate({ inputTokens: 1_500, outputTokens: 10 })).toEqual({
      input: 2_000,
      output: 40,
    });
    // 2,500: 1,000 at $1, 1,000 at $2, 500 at $3.
    expect(tokensTimesRate({ inputTokens: 2_500 })).toEqual({ input: 4_500 });
    // Cache reads come first in the prompt: 800 cached at $0.1, then 400 input: 200 at $1, 200 at $2.
    expect(tokensTimesRate({ cachedInputTokens: 800, inputTokens: 400 })).toEqual({
      cachedInput: 80,
      input: 600,
    });
    // 1,500 cached: 1,000 at $0.1, 500 at the tier's $0.2; then 700 input: 500 at $2, 200 at $3.
    expect(tokensTimesRate({ cachedInputTokens: 1_500, inputTokens: 700 })).toEqual({
      cachedInput: 200,
      input: 1_600,
    });
    // Cached tokens in the third bracket fall back to the tier's input rate ($3), as in whole tiers.
    expect(tokensTimesRate({ cachedInputTokens: 2_100 })).toEqual({ cachedInput: 100 + 200 + 300 });
  });
});

describe("the bill", () => {
  it("rounds up once, the sum of the exact parts, not each part", () => {
    // 1 token at $0.15/1M = 0.075 units, twice (input and cached input at the same rate):
    // 0.15 units in all, one unit charged.
    const { units, costs } = bill(
      { input: 0.15, output: 0.6 },
      { inputTokens: 1, cachedInputTokens: 1 },
      [1],
    );
    expect(units).toBe(1);
    expect(costs).toEqual({ input: 0.075, cachedInput: 0.075 });
    // 3 × 0.4 units: 1.2 → 2 (each rounded up would make 3).
    expect(
      bill(
        { input: 0.8, reasoning: 0.8 },
        { inputTokens: 1, cachedInputTokens: 1, reasoningTokens: 1 },
        [1],
      ).units,
    ).toBe(2);
  });

  it("applies multipliers exactly, to the total and to each part", () => {
    const price: ModelPrice = { input: 10, output: 30, cachedInput: 1 };
    const metered = { inputTokens: 5, cachedInputTokens: 100, outputTokens: 9 };
    // $50e-6 + $100e-6 + $270e-6 = $420e-6 = 210 units.
    expect(bill(price, metered, [1])).toEqual({
      units: 210,
      costs: { input: 25, cachedInput: 50, output: 135 },
    });
    expect(bill(price, metered, [1.5, 0.5]).units).toBe(158); // 157.5 rounded up
    expect(bill(price, metered, [1.5, 0.5]).costs).toEqual({
      input: 18.75,
      cachedInput: 37.5,
      output: 101.25,
    });
  });

  it("adds a per-call fee once per call, and per-image, per-character and per-second parts", () => {
    expect(bill({ perCall: 0.01, input: 1 }, { inputTokens: 1_000 }, [1])).toEqual({
      units: 5_500,
      costs: { input: 500, perCall: 5_000 },
    });
    expect(bill({ perCall: 0.01 }, { calls: 3 }, [1]).units).toBe(15_000);
    // Whole seconds at $0.006 a minute: 61 s = $0.0061 = 3,050 units.
    expect(bill({ sttPerMinute: 0.006 }, { sttSeconds: 61 }, [1])).toEqual({
      units: 3_050,
      costs: { stt: 3_050 },
    });
    expect(
      bill(
        { input: 6, output: 10, sttPerMinute: 0 },
        { sttSeconds: 10, audioInputTokens: 170, inputTokens: 20, outputTokens: 30 },
        [1],
      ).units,
    ).toBe(Math.ceil((190 * 6 + 30 * 10) / 2));
    expect(bill({ free: true, input: 1 }, { inputTokens: 1_000 }, [1])).toEqual({
      units: 0,
      costs: {},
    });
  });
});

describe("holds", () => {
  it("price every prompt token at the dearest input-side rate the call could incur", () => {
    const price: ModelPrice = {
      input: 3,
      output: 15,
      cachedInput: 0.3,
      cacheWrite: 3.75,
      cacheWrite1h: 6,
      reasoning: 20,
      tiers: [
        { above: 200_000, basis: "whole", rates: { input: 6, output: 22.5, cacheWrite1h: 12 } },
      ],
    };
    // Below the tier: 1-hour writes ($6) and reasoning ($20) are the dearest.
    expect(holdInUnits(price, { inputTokens: 1_000, outputTokens: 100 }, [1])).toBe(
      (1_000 * 6 + 100 * 20) / 2,
    );
    // A prompt bound past it: the tier's 1-hour writes ($12) and output ($22.5; reasoning falls back to it).
    expect(holdInUnits(price, { inputTokens: 300_000, outputTokens: 100 }, [1])).toBe(
      Math.ceil((300_000 * 12 + 100 * 22.5) / 2),
    );
  });

  it("are never below a bill within the call's bounds (random prices, bounds and usage)", () => {
    const rng = random(2026);
    for (let trial = 0; trial < 3_000; trial++) {
      const price: ModelPrice = {};
      for (const kind of RATE_KINDS) if (rng.next() < 0.4) price[kind] = rng.usd();
      if (rng.next() < 0.2) price.perCall = rng.usd() / 100;
      if (rng.next() < 0.5) {
        const basis = rng.pick(["whole", "excess"] as const);
        const tiers: PriceTier[] = [];
        let above = 0;
        for (let n = 1 + rng.int(2); n > 0; n--) {
          above += 1 + rng.int(50_000);
          const rates: PriceTier["rates"] = {};
          const kinds = basis === "excess" ? RATE_KINDS.slice(0, 8) : RATE_KINDS;
          for (const kind of kinds) if (rng.next() < 0.4) rates[kind] = rng.usd();
          tiers.push({ above, basis, rates });
        }
        price.tiers = tiers;
      }
      const promptBound = rng.int(trial % 3 ? 120_000 : 2_000);
      const answerBound = rng.int(20_000);
      const bound: Metered = {
        ...split(rng, promptBound, INPUT_KINDS),
        ...split(rng, answerBound, OUTPUT_KINDS),
        ...(rng.next() < 0.2 && { ttsCharacters: rng.int(10_000), sttSeconds: rng.int(600) }),
      };
      const multipliers = rng.pick(MULTIPLIERS);
      const hold = holdInUnits(price, bound, multipliers);
      for (let i = 0; i < 5; i++) {
        const used: Metered = {
          ...split(rng, rng.int(promptBound), INPUT_KINDS),
          ...split(rng, rng.int(answerBound), OUTPUT_KINDS),
          ...(bound.ttsCharacters !== undefined && {
            ttsCharacters: rng.int(bound.ttsCharacters),
            sttSeconds: rng.int(bound.sttSeconds ?? 0),
          }),
        };
        const billed = costInUnits(price, used, multipliers);
        if (billed > hold) {
          throw new Error(
            `bill ${billed} > hold ${hold}: ${JSON.stringify({ price, bound, used, multipliers })}`,
          );
        }
      }
    }
  });
});

describe("what a call consumed, on its log line", () => {
  it("logs each kind above 0, the seconds, characters and images, and what each cost", () => {
    const price: ModelPrice = { input: 0.15, cachedInput: 0.075, output: 0.6 };
    const metered = {
      inputTokens: 86,
      cachedInputTokens: 1920,
      outputTokens: 300,
      reasoningTokens: 0,
    };
    expect(loggedUsage(metered, bill(price, metered, [1]))).toEqual({
      inputTokens: 86,
      cachedInputTokens: 1920,
      outputTokens: 300,
      costs: { input: 6.45, cachedInput: 72, output: 90 },
    });
    const whisper = { sttSeconds: 10 };
    expect(loggedUsage(whisper, bill({ sttPerMinute: 0.006 }, whisper, [1]))).toEqual({
      seconds: 10,
      costs: { stt: 500 },
    });
    const images = { images: { count: 2, size: "1024x1024", quality: "hd" } };
    const dalle = DEFAULT_PRICING.models["dall-e-3"] as ModelPrice;
    expect(loggedUsage(images, bill(dalle, images, [1]))).toEqual({
      imageCount: 2,
      imageSize: "1024x1024",
      imageQuality: "hd",
      costs: { image: 80_000 },
    });
    const speech = { ttsCharacters: 1_000 };
    expect(
      loggedUsage(speech, bill({ ttsPerMillionChars: 15, perCall: 0.001 }, speech, [1])),
    ).toEqual({
      characters: 1_000,
      calls: 1,
      costs: { tts: 7_500, perCall: 500 },
    });
  });
});
