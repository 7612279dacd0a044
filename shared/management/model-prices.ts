import type { ModelPrice, PriceTier, TokenRates } from "../billing/pricing";
import { INPUT_RATES, RATE_KINDS, type RateKind } from "../billing/rates";
import { isObject } from "../http/body";
import { msg } from "../messages/codes";
import { definedOnly } from "../objects";
import { field, invalid } from "./envelope";
import { snakeCase } from "./views";

/** Each token rate by its API name: `cached_input` → cachedInput, `cache_write_1h` → cacheWrite1h. */
const RATE_FIELDS = new Map<string, RateKind>(RATE_KINDS.map((kind) => [snakeCase(kind), kind]));
const INPUT_FIELDS = new Set<string>(INPUT_RATES.map(snakeCase));

/** Everything a model's price may say, by its API name. */
const PRICE_FIELDS = [
  ...RATE_FIELDS.keys(),
  "per_call",
  "tiers",
  "image",
  "tts_per_million_chars",
  "stt_per_minute",
  "default_max_tokens",
  "batch_discount",
  "free",
  "bills_mapped_calls",
  "source",
  "as_of",
];
const TIER_FIELDS = ["above", "basis", "rates"];
const MOST_TIERS = 8;

/** Refuses fields this API does not know, naming them (a typo must not price a kind at 0). */
export function refuseUnknown(
  raw: Record<string, unknown>,
  known: readonly string[],
  where: string,
): void {
  const unknown = Object.keys(raw).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw invalid(
      msg("price_unknown_fields", {
        field: where,
        unknown: unknown.join(", "),
        known: known.join(", "),
        count: unknown.length,
      }),
    );
  }
}

/** `models` of PUT /api/pricing: every model's price, validated. */
export function modelPrices(value: unknown): Record<string, ModelPrice> {
  if (!isObject(value)) throw invalid(msg("prices_not_object"));
  const models: Record<string, ModelPrice> = {};
  for (const [model, raw] of Object.entries(value)) {
    const where = `models.${model}`;
    if (!isObject(raw)) throw invalid(msg("price_not_object", { field: where }));
    refuseUnknown(raw, PRICE_FIELDS, where);
    const price: ModelPrice = definedOnly({
      ...tokenRates(raw, where),
      perCall: usd(raw, "per_call", where),
      tiers: raw.tiers === undefined || raw.tiers === null ? undefined : tiers(raw.tiers, where),
      image: raw.image === undefined ? undefined : imagePrices(raw.image, model),
      ttsPerMillionChars: usd(raw, "tts_per_million_chars", where),
      sttPerMinute: usd(raw, "stt_per_minute", where),
      defaultMaxTokens: field.integer(raw, "default_max_tokens", { min: 1 }),
      batchDiscount: discount(raw, "batch_discount"),
      free: field.boolean(raw, "free"),
      billsMappedCalls: field.boolean(raw, "bills_mapped_calls"),
      source: provenance(raw, where),
      asOf: date(raw, "as_of", where),
    });
    const { source: _source, asOf: _asOf, billsMappedCalls: _mapped, ...pricing } = price;
    if (Object.keys(pricing).length === 0)
      throw invalid(msg("price_sets_nothing", { field: where }));
    models[model] = price;
  }
  return models;
}

/** A price as GET /api/pricing shows it, in the names PUT takes: what GET answers, PUT accepts. */
export function modelPriceView(price: ModelPrice) {
  return definedOnly({
    ...rateView(price),
    per_call: price.perCall,
    tiers: price.tiers?.map((tier) => ({
      above: tier.above,
      basis: tier.basis,
      rates: rateView(tier.rates),
    })),
    image: price.image,
    tts_per_million_chars: price.ttsPerMillionChars,
    stt_per_minute: price.sttPerMinute,
    default_max_tokens: price.defaultMaxTokens,
    batch_discount: price.batchDiscount,
    free: price.free,
    bills_mapped_calls: price.billsMappedCalls,
    source: price.source,
    as_of: price.asOf,
  });
}

function rateView(rates: TokenRates): Record<string, number> {
  const view: Record<string, number> = {};
  for (const [name, kind] of RATE_FIELDS) {
    const rate = rates[kind];
    if (rate !== undefined) view[name] = rate;
  }
  return view;
}

function tokenRates(raw: Record<string, unknown>, where: string): TokenRates {
  const rates: TokenRates = {};
  for (const [name, kind] of RATE_FIELDS) {
    const rate = usd(raw, name, where);
    if (rate !== undefined) rates[kind] = rate;
  }
  return rates;
}

/**
 * Long-context tiers: thresholds that are positive whole numbers of prompt tokens, ascending,
 * all of one basis; an "excess" tier prices the prompt's tokens past it, so it takes
 * input-side rates only.
 */
function tiers(value: unknown, where: string): PriceTier[] | undefined {
  if (!Array.isArray(value) || value.length > MOST_TIERS)
    throw invalid(msg("tiers_not_list", { field: `${where}.tiers`, max: MOST_TIERS }));
  const out: PriceTier[] = [];
  for (const [i, raw] of value.entries()) {
    const at = `${where}.tiers[${i}]`;
    if (!isObject(raw)) throw invalid(msg("tier_not_object", { field: at }));
    refuseUnknown(raw, TIER_FIELDS, at);
    const above = raw.above;
    if (typeof above !== "number" || !Number.isSafeInteger(above) || above < 1)
      throw invalid(msg("tier_above_invalid", { field: `${at}.above` }));
    const previous = out.at(-1);
    if (previous && above <= previous.above)
      throw invalid(msg("tiers_not_sorted", { field: `${where}.tiers` }));
    const basis = raw.basis;
    if (basis !== "whole" && basis !== "excess")
      throw invalid(msg("tier_basis_invalid", { field: `${at}.basis` }));
    if (previous && basis !== previous.basis)
      throw invalid(msg("tiers_mixed_basis", { field: `${where}.tiers` }));
    if (!isObject(raw.rates)) throw invalid(msg("tier_rates_not_object", { field: `${at}.rates` }));
    refuseUnknown(raw.rates, [...RATE_FIELDS.keys()], `${at}.rates`);
    if (basis === "excess") {
      const answerSide = Object.keys(raw.rates).filter((name) => !INPUT_FIELDS.has(name));
      if (answerSide.length > 0)
        throw invalid(msg("excess_tier_answer_rates", { field: at, rates: answerSide.join(", ") }));
    }
    const rates = tokenRates(raw.rates, `${at}.rates`);
    if (Object.keys(rates).length === 0)
      throw invalid(msg("tier_sets_no_rate", { field: `${at}.rates` }));
    out.push({ above, basis, rates });
  }
  return out.length > 0 ? out : undefined;
}

function usd(raw: Record<string, unknown>, name: string, where: string): number | undefined {
  const value = raw[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw invalid(msg("price_not_usd", { field: `${where}.${name}` }));
  }
  // Prices are kept to the millionth of a dollar, as cost computation uses them.
  return Math.round(value * 1e6) / 1e6;
}

function provenance(raw: Record<string, unknown>, where: string): string | undefined {
  const value = raw.source;
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string" || value.length > 500)
    throw invalid(msg("price_source_invalid", { field: `${where}.source`, max: 500 }));
  return value;
}

/** A date field, YYYY-MM-DD, as written (2026-02-31 is refused). */
export function date(
  raw: Record<string, unknown>,
  name: string,
  where: string,
): string | undefined {
  const value = raw[name];
  if (value === undefined || value === null || value === "") return undefined;
  const time = typeof value === "string" ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  // Date.parse takes 2026-02-31 as March 3rd: the date must be the one written.
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== value)
    throw invalid(msg("date_invalid", { field: `${where}.${name}` }));
  return value as string;
}

function imagePrices(value: unknown, model: string): Record<string, Record<string, number>> {
  const problem = invalid(msg("image_prices_invalid", { field: `models.${model}.image` }));
  if (!isObject(value)) throw problem;
  const bySize: Record<string, Record<string, number>> = {};
  for (const [size, qualities] of Object.entries(value)) {
    if (!isObject(qualities)) throw problem;
    bySize[size] = {};
    for (const [quality, price] of Object.entries(qualities)) {
      if (typeof price !== "number" || !Number.isFinite(price) || price < 0) throw problem;
      (bySize[size] as Record<string, number>)[quality] = price;
    }
  }
  return bySize;
}

/** A batch discount: the multiple of the price a batch line costs, from 0 to 1. */
export function discount(raw: Record<string, unknown>, name: string): number | undefined {
  const value = field.number(raw, name, { min: 0 });
  if (value !== undefined && value > 1)
    throw invalid(msg("multiplier_out_of_range", { field: name }));
  return value;
}
