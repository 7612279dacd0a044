import { InvalidRequest, ModelUnavailable } from "../errors";
import type { ModelPrice, Pricing } from "./pricing";

/** What a call consumed, in the dimensions models are priced by. */
export interface Metered {
  promptTokens?: number;
  completionTokens?: number;
  images?: { count: number; size: string; quality: string };
  ttsCharacters?: number;
  sttMilliseconds?: number;
}

/** How a model must be priced to serve an endpoint. */
export type PriceDimension = "tokens" | "image" | "tts" | "stt";

/**
 * The price of `model` for the user's group, or 403 when the model has none for the
 * dimension the endpoint bills by (unless it is marked free).
 */
export function priceFor(
  pricing: Pricing,
  model: string,
  dimension: PriceDimension,
  group: string,
): { price: ModelPrice; multiplier: number } {
  const price = pricing.models[model];
  const priced =
    price &&
    (price.free ||
      (dimension === "tokens" && (price.input !== undefined || price.output !== undefined)) ||
      (dimension === "image" && price.image !== undefined) ||
      (dimension === "tts" && price.ttsPerMillionChars !== undefined) ||
      (dimension === "stt" && (price.sttPerMinute !== undefined || price.input !== undefined)));
  if (!price || !priced) {
    throw new ModelUnavailable(
      model,
      "not_priced",
      `The model \`${model}\` has no price on this sluice, so it cannot be used. An administrator can set one with PUT /api/pricing.`,
    );
  }
  return { price, multiplier: pricing.groups[group] ?? 1 };
}

const MICRO = 1_000_000n;
/** One quota unit is $0.000002 = 2,000,000 pico-dollars. */
const PICO_USD_PER_UNIT = 2_000_000n;

/** A metered count as an exact integer: never negative, a fraction rounds up. */
function count(value: number | undefined): bigint {
  return value && value > 0 ? BigInt(Math.ceil(value)) : 0n;
}

/** Prices and multipliers are decimals; they are used as exact integers of millionths. */
function micro(value: number): bigint {
  return BigInt(Math.round(value * 1e6));
}

/**
 * The cost in quota units, computed exactly in integers and rounded up to the next whole
 * unit ($0.000002), so no call is ever charged less than it cost.
 */
export function costInUnits(
  price: ModelPrice,
  metered: Metered,
  multipliers: readonly number[],
): number {
  if (price.free) return 0;
  // Pico-dollars: a price in USD per 1M tokens, in millionths, times tokens.
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
    // USD per minute × ms: scale everything else by 60,000 to keep one denominator.
    pico = pico * 60_000n + count(metered.sttMilliseconds) * micro(price.sttPerMinute ?? 0) * MICRO;
    denominator *= 60_000n;
  }
  for (const multiplier of multipliers) {
    pico *= micro(multiplier);
    denominator *= MICRO;
  }
  return Number((pico + denominator - 1n) / denominator);
}

/** The price of one image: by size and quality, falling back to the size's only or default price. */
export function imagePrice(price: ModelPrice, size: string, quality: string): number {
  const bySize = price.image?.[size] ?? price.image?.default;
  if (!bySize) {
    throw new InvalidRequest(`Images of size ${size} are not available for this model.`, "size");
  }
  const value = bySize[quality] ?? bySize.default ?? bySize.standard ?? Object.values(bySize)[0];
  if (value === undefined) {
    throw new InvalidRequest(
      `Images of quality ${quality} are not available for this model.`,
      "quality",
    );
  }
  return value;
}
