/**
 * The built-in price list (shared/billing/default-prices.ts): every price passes the checks a
 * price sent to PUT /api/pricing passes, says where and when it was read, and the local stack
 * prices every model it serves.
 */
import { describe, expect, it } from "vitest";
import { DEMO_MODELS } from "../../infra/local/demo-upstream";
import { type PriceDimension, priceFor } from "../../shared/billing/cost";
import { DEFAULT_PRICING } from "../../shared/billing/pricing";
import { modelPrices, modelPriceView } from "../../shared/management/model-prices";

const models = Object.entries(DEFAULT_PRICING.models);

describe("the built-in price list", () => {
  it("is what PUT /api/pricing would store: its view, validated, is the same price", () => {
    expect(models.length).toBeGreaterThan(100);
    for (const [model, price] of models) {
      const view = { [model]: modelPriceView(price) };
      expect(modelPrices(JSON.parse(JSON.stringify(view))), model).toEqual({ [model]: price });
    }
  });

  it("says where and when each price was read", () => {
    for (const [model, price] of models) {
      expect(price.source, model).toMatch(/^(https:\/\/\S+|LiteLLM .+|sluice)$/);
      expect(price.asOf, model).toMatch(/^20\d\d-\d\d-\d\d$/);
    }
  });

  it("prices the cache and audio kinds the providers sell, and the models once missing", () => {
    const price = (model: string) => DEFAULT_PRICING.models[model] ?? {};
    expect(price("gpt-4o-mini").cachedInput).toBe(0.075);
    expect(price("gpt-4.1").cachedInput).toBe(0.5);
    expect(price("claude-sonnet-4-5")).toMatchObject({ cacheWrite: 3.75, cacheWrite1h: 6 });
    expect(price("gpt-4o-audio-preview")).toMatchObject({ audioInput: 40, audioOutput: 80 });
    expect(price("gpt-4o-mini-tts")).toMatchObject({ input: 0.6, audioOutput: 12 });
    expect(price("gpt-4o-transcribe")).toMatchObject({ input: 2.5, audioInput: 6, output: 10 });
    expect(price("gpt-image-1").imageOutput).toBe(40);
    for (const model of ["gpt-audio", "gpt-5-pro", "o3-pro", "gpt-5.5", "gpt-5.6"])
      expect(price(model).input, model).toBeGreaterThan(0);
    // A tier past 272K prompt tokens, the whole call at its rates.
    expect(price("gpt-5.5").tiers).toEqual([
      { above: 272_000, basis: "whole", rates: { input: 10, cachedInput: 1, output: 45 } },
    ]);
    // A dated snapshot costs what its model does; one priced apart is not aliased.
    expect(price("gpt-4o-2024-08-06")).toEqual(price("gpt-4o"));
    expect(price("claude-sonnet-4-5-20250929")).toEqual(price("claude-sonnet-4-5"));
    expect(price("gpt-4o-2024-05-13")).toMatchObject({ input: 5, output: 15 });
  });

  it("prices every model the local stack serves, for the endpoint that serves it", () => {
    const dimension = (model: string): PriceDimension =>
      model.startsWith("dall-e")
        ? "image"
        : model.startsWith("whisper")
          ? "stt"
          : model.startsWith("tts")
            ? "tts"
            : "tokens";
    for (const model of [...DEMO_MODELS, "tts-az-1"]) {
      expect(
        () => priceFor(DEFAULT_PRICING, model, dimension(model), "default"),
        model,
      ).not.toThrow();
    }
  });
});
