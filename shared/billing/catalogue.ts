import { snakeCase } from "../management/views";
import { servedModel } from "../relay/adapters/index";
import type { Services } from "../services";
import type { ModelPrice, Pricing, TokenRates } from "./pricing";
import { RATE_KINDS } from "./rates";
import { UNITS_PER_USD } from "./units";

/**
 * What visitors and users may call, and at what price: the one list GET /v1/models serves
 * (narrowed to a key's allow-list) and the models page (GET /api/pricing/public) shows.
 */

/**
 * Served by an enabled channel, allowed (by a key's allow-list, when there is one), and priced
 * (or free): callable. A model without a price of its own is priced when every channel that
 * serves it maps it to a model that has one (the upstream's price bills a mapped call).
 * Channels carry no groups, so every group may call the same models.
 */
export async function usableModels(
  services: Pick<Services, "channelDirectory" | "pricing">,
  allows: (model: string) => boolean = () => true,
): Promise<string[]> {
  const { channelDirectory } = services;
  const [served, pricing] = await Promise.all([channelDirectory.models(), services.pricing.get()]);
  const priced = async (model: string) =>
    pricing.models[model] !== undefined ||
    (await channelDirectory.candidates(model)).every(
      (channel) => pricing.models[servedModel(channel, model)] !== undefined,
    );
  const usable: string[] = [];
  for (const model of served) {
    if (allows(model) && (await priced(model))) usable.push(model);
  }
  return usable;
}

/** An amount in USD and the same in quota units. */
export interface Amount {
  usd: number;
  units: number;
}

/** A model's price as the models page shows it, after the group's multiplier. */
export interface PublicPrice {
  id: string;
  free: boolean;
  /** False for a model priced only by the models its channels map it to (each bills its own). */
  priced: boolean;
  per_call?: Amount;
  /** Per 1M tokens, by the price model's API names; only the rates the price sets. */
  rates: Record<string, Amount>;
  tiers?: { above: number; basis: "whole" | "excess"; rates: Record<string, Amount> }[];
  /** Per image, by size then quality. */
  image?: Record<string, Record<string, Amount>>;
  tts_per_million_chars?: Amount;
  stt_per_minute?: Amount;
}

/**
 * Each model's price for a group of `multiplier`. A rate the price does not set is left out
 * (it falls back to the rate it is a part of: billing/rates.ts), so no rate is shown twice.
 * The price's source, its mappings and batch settings are not shown.
 */
export function publicPrices(
  pricing: Pricing,
  models: readonly string[],
  multiplier: number,
): PublicPrice[] {
  const amount = (usd: number): Amount => ({
    usd: round(usd * multiplier),
    units: round(usd * multiplier * UNITS_PER_USD),
  });
  const rates = (r: TokenRates) => {
    const out: Record<string, Amount> = {};
    for (const kind of RATE_KINDS) {
      const rate = r[kind];
      if (rate !== undefined) out[snakeCase(kind)] = amount(rate);
    }
    return out;
  };
  return models.map((id) => {
    const price: ModelPrice | undefined = pricing.models[id];
    if (!price) return { id, free: false, priced: false, rates: {} };
    const view: PublicPrice = { id, free: price.free === true, priced: true, rates: rates(price) };
    if (price.perCall !== undefined) view.per_call = amount(price.perCall);
    if (price.tiers?.length)
      view.tiers = price.tiers.map((t) => ({
        above: t.above,
        basis: t.basis,
        rates: rates(t.rates),
      }));
    if (price.image)
      view.image = Object.fromEntries(
        Object.entries(price.image).map(([size, qualities]) => [
          size,
          Object.fromEntries(Object.entries(qualities).map(([q, usd]) => [q, amount(usd)])),
        ]),
      );
    if (price.ttsPerMillionChars !== undefined)
      view.tts_per_million_chars = amount(price.ttsPerMillionChars);
    if (price.sttPerMinute !== undefined) view.stt_per_minute = amount(price.sttPerMinute);
    return view;
  });
}

/** Rid of float noise (0.15 × 1.2 = 0.18, not 0.18000000000000002); 9 decimals is below a unit. */
function round(n: number): number {
  return Math.round(n * 1e9) / 1e9;
}
