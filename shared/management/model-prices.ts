import type { ModelPrice, PriceTier, TokenRates } from "../billing/pricing";
import { INPUT_RATES, RATE_KINDS, type RateKind } from "../billing/rates";
import { isObject } from "../http/body";
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
      `${where} has unknown field${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}. Known: ${known.join(", ")}.`,
    );
  }
}

/** `models` of PUT /api/pricing: every model's price, validated. */
export function modelPrices(value: unknown): Record<string, ModelPrice> {
  if (!isObject(value)) throw invalid("models must map model names to prices.");
  const models: Record<string, ModelPrice> = {};
  for (const [model, raw] of Object.entries(value)) {
    const where = `models.${model}`;
    if (!isObject(raw)) throw invalid(`${where} must be an object.`);
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
      throw invalid(`${where} sets no price; use {"free": true} for a free model.`);
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
    throw invalid(`${where}.tiers must be a list of at most ${MOST_TIERS} tiers.`);
  const out: PriceTier[] = [];
  for (const [i, raw] of value.entries()) {
    const at = `${where}.tiers[${i}]`;
    if (!isObject(raw)) throw invalid(`${at} must be {"above", "basis", "rates"}.`);
    refuseUnknown(raw, TIER_FIELDS, at);
    const above = raw.above;
    if (typeof above !== "number" || !Number.isSafeInteger(above) || above < 1)
      throw invalid(`${at}.above must be a whole number of prompt tokens, 1 or more.`);
    const previous = out.at(-1);
    if (previous && above <= previous.above)
      throw invalid(`${where}.tiers must be sorted by "above", each above the one before.`);
    const basis = raw.basis;
    if (basis !== "whole" && basis !== "excess")
      throw invalid(`${at}.basis must be one of: whole, excess.`);
    if (previous && basis !== previous.basis)
      throw invalid(`${where}.tiers must all have the same basis.`);
    if (!isObject(raw.rates)) throw invalid(`${at}.rates must map rates to USD per 1M tokens.`);
    refuseUnknown(raw.rates, [...RATE_FIELDS.keys()], `${at}.rates`);
    if (basis === "excess") {
      const answerSide = Object.keys(raw.rates).filter((name) => !INPUT_FIELDS.has(name));
      if (answerSide.length > 0)
        throw invalid(
          `${at} is an "excess" tier, which prices the prompt's tokens past its threshold: it takes input-side rates only, not ${answerSide.join(", ")}.`,
        );
    }
    const rates = tokenRates(raw.rates, `${at}.rates`);
    if (Object.keys(rates).length === 0) throw invalid(`${at}.rates sets no rate.`);
    out.push({ above, basis, rates });
  }
  return out.length > 0 ? out : undefined;
}

function usd(raw: Record<string, unknown>, name: string, where: string): number | undefined {
  const value = raw[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw invalid(`${where}.${name} must be a price in USD, 0 or more.`);
  }
  // Prices are kept to the millionth of a dollar, as cost computation uses them.
  return Math.round(value * 1e6) / 1e6;
}

function provenance(raw: Record<string, unknown>, where: string): string | undefined {
  const value = raw.source;
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string" || value.length > 500)
    throw invalid(`${where}.source must be a text of at most 500 characters (a URL or a note).`);
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
    throw invalid(`${where}.${name} must be a date, YYYY-MM-DD.`);
  return value as string;
}

function imagePrices(value: unknown, model: string): Record<string, Record<string, number>> {
  const problem = invalid(`models.${model}.image must map sizes to {quality: USD per image}.`);
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
  if (value !== undefined && value > 1) throw invalid(`${name} is a multiplier between 0 and 1.`);
  return value;
}
