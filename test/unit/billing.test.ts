import { describe, expect, it } from "vitest";
import { holdWhileOpening, quote } from "../../shared/billing/charge";
import { costInUnits, imagePrice, priceFor } from "../../shared/billing/cost";
import { DEFAULT_PRICING } from "../../shared/billing/pricing";
import { dollarsToUnits, unitsToDollars } from "../../shared/billing/units";
import { QuotaExceeded } from "../../shared/errors";
import { statusOf, toApiError } from "../../shared/http/error-mapping";
import { balancesOf, fold, type Grant } from "../../shared/store/buckets";

describe("quota units", () => {
  it("match both seeds: $1 = 500,000 units, dollars to 6 decimals", () => {
    expect(unitsToDollars(2_171_914)).toBe(4.343828);
    expect(unitsToDollars(-6_319_582)).toBe(-12.639164);
    expect(unitsToDollars(827_272)).toBe(1.654544);
    expect(unitsToDollars(58_134_140)).toBe(116.26828);
    expect(unitsToDollars(967_381)).toBe(1.934762);
    expect(dollarsToUnits(4.343828)).toBe(2_171_914);
  });
});

describe("costInUnits", () => {
  it("is exact for token prices and rounds only the final result, upwards", () => {
    // 1M gpt-4o-mini input tokens = $0.15 = 75,000 units.
    expect(costInUnits({ input: 0.15, output: 0.6 }, { inputTokens: 1_000_000 }, [1])).toBe(75_000);
    // 5 × $10/1M + 9 × $30/1M = $0.00032 = 160 units.
    expect(costInUnits({ input: 10, output: 30 }, { inputTokens: 5, outputTokens: 9 }, [1])).toBe(
      160,
    );
    // $0.15/1M × 1 token = 0.075 units: a call never costs nothing.
    expect(costInUnits({ input: 0.15 }, { inputTokens: 1 }, [1])).toBe(1);
    // No float drift: 0.1 + 0.2 style prices still give whole, exact results.
    expect(
      costInUnits(
        { input: 0.1, output: 0.2 },
        { inputTokens: 3_000_000, outputTokens: 3_000_000 },
        [1],
      ),
    ).toBe(450_000);
  });

  it("never credits for negative counts and rounds fractional ones up", () => {
    const price = { input: 10, output: 30 };
    expect(costInUnits(price, { inputTokens: -1_000, outputTokens: 9 }, [1])).toBe(135);
    expect(costInUnits(price, { inputTokens: 4.2, outputTokens: 9 }, [1])).toBe(160);
  });

  it("applies group multipliers and the batch discount exactly", () => {
    expect(costInUnits({ input: 10, output: 30 }, { inputTokens: 5, outputTokens: 9 }, [0.5])).toBe(
      80,
    );
    expect(
      costInUnits({ input: 10, output: 30 }, { inputTokens: 5, outputTokens: 9 }, [1.5, 0.5]),
    ).toBe(120);
  });

  it("prices images by size and quality, speech by characters and transcription by time", () => {
    const dalle = DEFAULT_PRICING.models["dall-e-3"] ?? {};
    expect(
      costInUnits(dalle, { images: { count: 2, size: "1024x1024", quality: "hd" } }, [1]),
    ).toBe(80_000);
    expect(imagePrice(dalle, "1792x1024", "standard")).toBe(0.08);
    expect(costInUnits({ ttsPerMillionChars: 15 }, { ttsCharacters: 1_000 }, [1])).toBe(7_500); // $0.015
    // 90 s at $0.006/min = $0.009 = 4,500 units.
    expect(costInUnits({ sttPerMinute: 0.006 }, { sttSeconds: 90 }, [1])).toBe(4_500);
    expect(costInUnits({ free: true }, { inputTokens: 1_000 }, [1])).toBe(0);
  });

  it("prices an `auto` image at the dearest the price lists, and an unlisted quality at its default, standard, else the dearest", () => {
    const gptImage = {
      image: {
        "1024x1024": { low: 0.011, medium: 0.042, high: 0.167 },
        "1536x1024": { low: 0.016, medium: 0.063, high: 0.25 },
      },
    };
    expect(imagePrice(gptImage, "auto", "auto")).toBe(0.25);
    expect(imagePrice(gptImage, "auto", "low")).toBe(0.016);
    expect(imagePrice(gptImage, "1024x1024", "auto")).toBe(0.167);
    expect(imagePrice(gptImage, "1024x1024", "ultra")).toBe(0.167);
    const dalle = DEFAULT_PRICING.models["dall-e-3"] ?? {};
    expect(imagePrice(dalle, "1024x1024", "vivid")).toBe(0.04);
    expect(() => imagePrice(gptImage, "512x512", "low")).toThrow(/size 512x512/);
    // A price by tokens alone bills no image per image, and holds none.
    expect(
      costInUnits(
        { imageOutput: 40 },
        { images: { count: 1, size: "auto", quality: "auto" } },
        [1],
      ),
    ).toBe(0);
  });

  it("refuses models without a price for what the endpoint bills, unless free", () => {
    expect(() => priceFor(DEFAULT_PRICING, "no-such-model", "tokens", "default")).toThrow(
      /has no price/,
    );
    expect(() => priceFor(DEFAULT_PRICING, "tts-1", "tokens", "default")).toThrow(/has no price/);
    // Images and speech may be priced by tokens (gpt-image-1, gpt-4o-mini-tts), not for
    // transcription's seconds alone.
    const byTokens = { ...DEFAULT_PRICING, models: { m: { input: 0.6, audioOutput: 12 } } };
    expect(priceFor(byTokens, "m", "tts", "default").price.audioOutput).toBe(12);
    expect(priceFor(byTokens, "m", "image", "default").price.input).toBe(0.6);
    const perCharacter = { ...DEFAULT_PRICING, models: { m: { ttsPerMillionChars: 15 } } };
    expect(() => priceFor(perCharacter, "m", "image", "default")).toThrow(/has no price/);
    expect(
      priceFor(DEFAULT_PRICING, "omni-moderation-latest", "tokens", "default").price.free,
    ).toBe(true);
    expect(
      priceFor({ ...DEFAULT_PRICING, groups: { vip: 0.8 } }, "gpt-4o", "tokens", "vip").multiplier,
    ).toBe(0.8);
  });
});

describe("balancesOf", () => {
  const base = { free: 100, bonus: 100, paid: 1_000, usedAt: 50 };

  it("draws free first, then bonus, then paid", () => {
    expect(balancesOf(base, [], 50)).toEqual({ free: 100, bonus: 100, paid: 1_000, total: 1_200 });
    expect(balancesOf(base, [], 200)).toEqual({ free: 0, bonus: 50, paid: 1_000, total: 1_050 });
    expect(balancesOf(base, [], 300)).toEqual({ free: 0, bonus: 0, paid: 950, total: 950 });
  });

  it("lets paid go negative when spending passes every bucket", () => {
    expect(balancesOf(base, [], 1_300)).toEqual({ free: 0, bonus: 0, paid: -50, total: -50 });
  });

  it("adds a top-up from the usage it landed at: earlier spending drew on what there was", () => {
    const empty = { free: 0, bonus: 0, paid: 100, usedAt: 0 };
    // 60 spent (from paid), then 50 free granted, then 30 more spent (from the new free).
    const grant: Grant = { bucket: "free", units: 50, at: 60, time: 1 };
    expect(balancesOf(empty, [grant], 90)).toEqual({ free: 20, bonus: 0, paid: 40, total: 60 });
    // Folding it into the base changes nothing.
    const folded = fold(empty, [grant]);
    expect(folded).toEqual({ free: 50, bonus: 0, paid: 40, usedAt: 60 });
    expect(balancesOf(folded, [], 90)).toEqual(balancesOf(empty, [grant], 90));
  });

  it("takes grants in the order they landed, whatever order they are read in", () => {
    const empty = { free: 0, bonus: 0, paid: 0, usedAt: 0 };
    const grants: Grant[] = [
      { bucket: "paid", units: 100, at: 40, time: 3 },
      { bucket: "bonus", units: 100, at: 0, time: 1 },
      { bucket: "free", units: 10, at: 40, time: 2 },
    ];
    // 40 spent from bonus, then free and paid granted, then 20 more: 10 free, 10 bonus.
    const expected = { free: 0, bonus: 50, paid: 100, total: 150 };
    expect(balancesOf(empty, grants, 60)).toEqual(expected);
    expect(balancesOf(empty, [...grants].reverse(), 60)).toEqual(expected);
    expect(balancesOf(fold(empty, grants), [], 60)).toEqual(expected);
  });
});

describe("quote", () => {
  const principal = {
    key: { id: "k", unlimitedQuota: true, remainQuota: 0 },
    user: { id: "u", group: "default" },
  };
  const context = {
    principal,
    requestId: "req_test",
    receivedAt: 0,
    services: { pricing: { get: async () => DEFAULT_PRICING } },
  } as unknown as Parameters<typeof quote>[0];
  const request = {
    model: "gpt-4o-mini",
    endpoint: "/v1/chat/completions",
    dimension: "tokens" as const,
    maxUse: { inputTokens: 1_000 },
  };

  it("holds the caller's max_tokens, or the model's longest answer, when the balance covers it", async () => {
    const asked = await quote(context, { ...request, output: { requested: 100, choices: 1 } }, 1e9);
    // Tokens per minute count the same bound: the prompt's and the longest answer's.
    expect(asked).toMatchObject({ outputTokens: 100, lowered: false, tokens: 1_100 });
    expect(asked.holdUnits).toBe(
      costInUnits({ input: 0.15, output: 0.6 }, { inputTokens: 1_000, outputTokens: 100 }, [1]),
    );
    const none = await quote(context, { ...request, output: { choices: 2 } }, 1e9);
    expect(none).toMatchObject({ outputTokens: 16_384, lowered: false });
  });

  it("lowers the answer to the most the balance covers, exactly", async () => {
    const price = { input: 0.15, output: 0.6 };
    const spendable = 3_000;
    const lowered = await quote(context, { ...request, output: { choices: 1 } }, spendable);
    expect(lowered.lowered).toBe(true);
    const tokens = lowered.outputTokens as number;
    const cost = (t: number) => costInUnits(price, { inputTokens: 1_000, outputTokens: t }, [1]);
    expect(cost(tokens)).toBeLessThanOrEqual(spendable);
    expect(cost(tokens + 1)).toBeGreaterThan(spendable);
    expect(lowered.holdUnits).toBe(cost(tokens));
  });

  it("does not lower below a useful answer: the hold decides then", async () => {
    const broke = await quote(context, { ...request, output: { choices: 1 } }, 0);
    expect(broke).toMatchObject({ outputTokens: 16, lowered: true });
  });

  it("bills batch lines at the batch discount, which is none by default", async () => {
    const batch = { ...context, batchId: "batch_1" } as typeof context;
    expect((await quote(batch, request, 1e9)).multipliers).toEqual([1, 1]);
    const discounted = {
      ...batch,
      services: {
        pricing: {
          get: async () => ({
            ...DEFAULT_PRICING,
            groupBatchDiscounts: { default: 0.8 },
            models: {
              ...DEFAULT_PRICING.models,
              "gpt-4o-mini": { input: 0.15, output: 0.6, batchDiscount: 0.5 },
            },
          }),
        },
      },
    } as unknown as typeof context;
    expect((await quote(discounted, request, 1e9)).multipliers).toEqual([1, 0.5]);
  });
});

describe("holdWhileOpening", () => {
  const principal = {
    key: { id: "k", unlimitedQuota: true, remainQuota: 0 },
    user: { id: "u", group: "default" },
  };
  const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /**
   * A charge context whose ledger holds (or refuses) after `holdMs`, and says whether it is
   * likely to; the key and the user have the rate limits given (none by default), the user
   * the operator's default concurrency.
   */
  function context(
    options: {
      covered: boolean;
      refuse: boolean;
      holdMs: number;
      keyLimits?: Record<string, number>;
      userLimits?: Record<string, number>;
    },
    log: string[],
  ) {
    return {
      principal: {
        key: { ...principal.key, rateLimits: options.keyLimits },
        user: { ...principal.user, rateLimits: options.userLimits },
      },
      requestId: "req_test",
      receivedAt: 0,
      services: {
        settings: { users: { concurrency: 50 } },
        pricing: { get: async () => DEFAULT_PRICING },
        ledger: {
          spendable: () => 1e9,
          likelyCovers: () => options.covered,
          hold: async (_principal: unknown, call: { units: number; limits?: unknown }) => {
            await later(options.holdMs);
            log.push(options.refuse ? "refused" : "held");
            log.push(`limits ${JSON.stringify(call.limits)}`);
            if (options.refuse) throw new QuotaExceeded("user");
            return {
              id: "h",
              userId: "u",
              keyId: "k",
              units: call.units,
              keyLimited: false,
              start: 0,
            };
          },
        },
      },
    } as unknown as Parameters<typeof holdWhileOpening>[0];
  }
  const request = {
    model: "gpt-4o-mini",
    endpoint: "/v1/chat/completions",
    dimension: "tokens" as const,
    maxUse: { inputTokens: 10 },
    output: { requested: 10, choices: 1 },
  };

  it("opens the upstream beside the hold, and answers only once the hold is in place", async () => {
    const log: string[] = [];
    const opened = await holdWhileOpening(
      context({ covered: true, refuse: false, holdMs: 30 }, log),
      request,
      async () => {
        log.push("opening");
        await later(5);
        log.push("opened");
        return "upstream";
      },
      statusOf,
    );
    log.push("answered");
    expect(opened.upstream).toBe("upstream");
    // The operator's default concurrency per user is the only limit: the hold still overlaps.
    expect(log).toEqual([
      "opening",
      "opened",
      "held",
      `limits ${JSON.stringify({ user: { concurrency: 50 }, holdFirst: false })}`,
      "answered",
    ]);
  });

  it("holds first, and opens the upstream only after, under limits of a key's or a user's own", async () => {
    const cases: { keyLimits?: Record<string, number>; userLimits?: Record<string, number> }[] = [
      { keyLimits: { rpm: 10 } },
      { userLimits: { tpm: 1_000 } },
      // The same concurrency as the operator's default, set for this user: it holds first.
      { userLimits: { concurrency: 50 } },
    ];
    for (const limits of cases) {
      const log: string[] = [];
      await holdWhileOpening(
        context({ covered: true, refuse: false, holdMs: 10, ...limits }, log),
        request,
        async () => {
          log.push("opening");
          return "upstream";
        },
        statusOf,
      );
      expect(log.filter((line) => !line.startsWith("limits"))).toEqual(["held", "opening"]);
    }
    // A refusal then calls no upstream at all.
    const log: string[] = [];
    const refused = holdWhileOpening(
      context({ covered: true, refuse: true, holdMs: 10, keyLimits: { rpm: 10 } }, log),
      request,
      async () => {
        log.push("opening");
        return "upstream";
      },
      statusOf,
    );
    await expect(refused).rejects.toBeInstanceOf(QuotaExceeded);
    expect(log.filter((line) => !line.startsWith("limits"))).toEqual(["refused"]);
  });

  it("aborts the upstream call when the hold is refused", async () => {
    const log: string[] = [];
    let signal: AbortSignal | undefined;
    const answer = holdWhileOpening(
      context({ covered: true, refuse: true, holdMs: 10 }, log),
      request,
      (s) => {
        signal = s;
        return new Promise(() => {}); // an upstream still thinking
      },
      statusOf,
    );
    await expect(answer.catch((err) => toApiError(err))).resolves.toMatchObject({ status: 429 });
    expect(signal?.aborted).toBe(true);
  });

  it("holds first, and calls no upstream at all, when the hold may well be refused", async () => {
    const log: string[] = [];
    const answer = holdWhileOpening(
      context({ covered: false, refuse: true, holdMs: 10 }, log),
      request,
      async () => {
        log.push("opening");
        return "upstream";
      },
      statusOf,
    );
    await expect(answer).rejects.toBeInstanceOf(QuotaExceeded);
    expect(log.filter((line) => !line.startsWith("limits"))).toEqual(["refused"]);
  });
});
