import { describe, expect, it } from "vitest";
import { publicPrices } from "../../shared/billing/catalogue";
import { DEFAULT_PRICING, type Pricing } from "../../shared/billing/pricing";
import { rateOf } from "../../shared/billing/rates";
import { UNITS_PER_USD } from "../../shared/billing/units";

const pricing: Pricing = {
  ...DEFAULT_PRICING,
  models: {
    tiered: {
      input: 3,
      output: 15,
      reasoning: 20,
      tiers: [{ above: 200_000, basis: "whole", rates: { input: 6 } }],
      source: "https://example.com",
    },
    art: { image: { "1024x1024": { standard: 0.04, hd: 0.08 } } },
    voice: { ttsPerMillionChars: 15, sttPerMinute: 0.006, free: true },
  },
};

describe("publicPrices", () => {
  it("shows each rate the price sets, once, at the group's multiplier, in $ and units", () => {
    const [tiered] = publicPrices(pricing, ["tiered"], 2);
    expect(Object.keys(tiered?.rates ?? {})).toEqual(["input", "output", "reasoning"]);
    // What billing charges for a kind the page leaves out is the rate it falls back to.
    expect(rateOf(pricing.models.tiered as never, undefined, "cachedInput")).toBe(3);
    expect(tiered?.rates.input).toEqual({ usd: 6, units: 6 * UNITS_PER_USD });
    expect(tiered?.tiers).toEqual([
      { above: 200_000, basis: "whole", rates: { input: { usd: 12, units: 12 * UNITS_PER_USD } } },
    ]);
    expect(JSON.stringify(tiered)).not.toContain("example.com");
  });

  it("scales images, speech and transcription, and says which are free", () => {
    const [art, voice] = publicPrices(pricing, ["art", "voice"], 1.5);
    expect(art?.image?.["1024x1024"]?.hd).toEqual({ usd: 0.12, units: 60_000 });
    expect(voice).toMatchObject({
      free: true,
      tts_per_million_chars: { usd: 22.5 },
      stt_per_minute: { usd: 0.009 },
    });
  });

  it("marks a model priced only through its channels' mappings", () => {
    expect(publicPrices(pricing, ["mapped"], 1)).toEqual([
      { id: "mapped", free: false, priced: false, rates: {} },
    ]);
  });
});
