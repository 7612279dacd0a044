import { describe, expect, it } from "vitest";
import { balancesOf } from "../../shared/billing/balance";
import { holdWhileOpening } from "../../shared/billing/charge";
import { costInUnits, imagePrice, priceFor } from "../../shared/billing/cost";
import { insufficientBalance } from "../../shared/billing/ledger";
import { DEFAULT_PRICING } from "../../shared/billing/pricing";
import { countTokens, upperTokenEstimate } from "../../shared/billing/tokens";
import { dollarsToUnits, unitsToDollars } from "../../shared/billing/units";

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
    expect(costInUnits({ input: 0.15, output: 0.6 }, { promptTokens: 1_000_000 }, [1])).toBe(
      75_000,
    );
    // 5 × $10/1M + 9 × $30/1M = $0.00032 = 160 units.
    expect(
      costInUnits({ input: 10, output: 30 }, { promptTokens: 5, completionTokens: 9 }, [1]),
    ).toBe(160);
    // $0.15/1M × 1 token = 0.075 units: a call never costs nothing.
    expect(costInUnits({ input: 0.15 }, { promptTokens: 1 }, [1])).toBe(1);
    // No float drift: 0.1 + 0.2 style prices still give whole, exact results.
    expect(
      costInUnits(
        { input: 0.1, output: 0.2 },
        { promptTokens: 3_000_000, completionTokens: 3_000_000 },
        [1],
      ),
    ).toBe(450_000);
  });

  it("never credits for negative counts and rounds fractional ones up", () => {
    const price = { input: 10, output: 30 };
    expect(costInUnits(price, { promptTokens: -1_000, completionTokens: 9 }, [1])).toBe(135);
    expect(costInUnits(price, { promptTokens: 4.2, completionTokens: 9 }, [1])).toBe(160);
  });

  it("applies group multipliers and the batch discount exactly", () => {
    expect(
      costInUnits({ input: 10, output: 30 }, { promptTokens: 5, completionTokens: 9 }, [0.5]),
    ).toBe(80);
    expect(
      costInUnits({ input: 10, output: 30 }, { promptTokens: 5, completionTokens: 9 }, [1.5, 0.5]),
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
    expect(costInUnits({ sttPerMinute: 0.006 }, { sttMilliseconds: 90_000 }, [1])).toBe(4_500);
    expect(costInUnits({ free: true }, { promptTokens: 1_000 }, [1])).toBe(0);
  });

  it("refuses models without a price for what the endpoint bills, unless free", () => {
    expect(() => priceFor(DEFAULT_PRICING, "no-such-model", "tokens", "default")).toThrow(
      /has no price/,
    );
    expect(() => priceFor(DEFAULT_PRICING, "tts-1", "tokens", "default")).toThrow(/has no price/);
    expect(
      priceFor(DEFAULT_PRICING, "omni-moderation-latest", "tokens", "default").price.free,
    ).toBe(true);
    expect(
      priceFor({ ...DEFAULT_PRICING, groups: { vip: 0.8 } }, "gpt-4o", "tokens", "vip").multiplier,
    ).toBe(0.8);
  });
});

describe("balancesOf", () => {
  const user = { freeBase: 100, bonusBase: 100, paidBase: 1_000, usedAtBase: 50, usedQuota: 50 };

  it("draws free first, then bonus, then paid", () => {
    expect(balancesOf(user)).toEqual({ free: 100, bonus: 100, paid: 1_000, total: 1_200 });
    expect(balancesOf({ ...user, usedQuota: 200 })).toEqual({
      free: 0,
      bonus: 50,
      paid: 1_000,
      total: 1_050,
    });
    expect(balancesOf({ ...user, usedQuota: 300 })).toEqual({
      free: 0,
      bonus: 0,
      paid: 950,
      total: 950,
    });
  });

  it("lets paid go negative when spending passes every bucket", () => {
    expect(balancesOf({ ...user, usedQuota: 1_300 })).toEqual({
      free: 0,
      bonus: 0,
      paid: -50,
      total: -50,
    });
  });
});

describe("token counting", () => {
  it("counts words, numbers and punctuation as GPT tokenizers split them", () => {
    expect(countTokens("This is sluice's demo upstream.")).toBe(7);
    expect(countTokens("12345")).toBe(2);
    expect(countTokens("你好世界")).toBe(4);
    expect(countTokens("")).toBe(0);
  });

  it("errs high for the hold estimate", () => {
    for (const text of [
      "Hello there, how are you today?",
      "你好，世界！今天怎么样？",
      "x".repeat(100),
    ]) {
      expect(upperTokenEstimate(text)).toBeGreaterThanOrEqual(countTokens(text));
    }
  });
});

describe("holdWhileOpening", () => {
  const principal = {
    key: { id: "k", unlimitedQuota: true, remainQuota: 0 },
    user: { id: "u", group: "default", available: 1e9 },
  };
  const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** A charge context whose ledger holds (or refuses) after `holdMs`, and says whether it is likely to. */
  function context(options: { covered: boolean; refuse: boolean; holdMs: number }, log: string[]) {
    return {
      principal,
      requestId: "req_test",
      receivedAt: 0,
      services: {
        settings: { holds: true },
        pricing: { get: async () => DEFAULT_PRICING },
        ledger: {
          likelyCovers: () => options.covered,
          hold: async (_principal: unknown, units: number) => {
            await later(options.holdMs);
            log.push(options.refuse ? "refused" : "held");
            if (options.refuse) throw insufficientBalance();
            return { userId: "u", keyId: "k", units, keyLimited: false };
          },
        },
      },
    } as unknown as Parameters<typeof holdWhileOpening>[0];
  }
  const request = {
    model: "gpt-4o-mini",
    endpoint: "/v1/chat/completions",
    dimension: "tokens" as const,
    maxUse: { promptTokens: 10, completionTokens: 10 },
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
    );
    log.push("answered");
    expect(opened.upstream).toBe("upstream");
    expect(log).toEqual(["opening", "opened", "held", "answered"]);
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
    );
    await expect(answer).rejects.toMatchObject({ status: 429 });
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
    );
    await expect(answer).rejects.toMatchObject({ status: 429 });
    expect(log).toEqual(["refused"]);
  });
});
