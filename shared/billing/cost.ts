import { InvalidRequest, ModelUnavailable } from "../errors";
import { msg } from "../messages/codes";
import { INPUT_KINDS, type Metered, OUTPUT_KINDS, type TokenKind } from "./metered";
import type { ModelPrice, PriceTier, Pricing } from "./pricing";
import { billsTokens, INPUT_RATES, OUTPUT_RATES, RATE_OF, type RateKind, rateOf } from "./rates";

/** How a model must be priced to serve an endpoint. */
export type PriceDimension = "tokens" | "image" | "tts" | "stt";

/**
 * The price that bills a call of `model` for the user's group, served as `servedAs` (the model
 * its channel maps it to, `model_mapping`; `model` itself when unmapped). A mapped call is
 * billed at the upstream model's price, so a cheap name mapped to a dear model costs what the
 * dear one does, unless the client's name is priced explicitly for mapped calls
 * (`billsMappedCalls`); a name with no price of its own bills at the upstream's, and an upstream
 * with none at the name's. Neither priced for the dimension the endpoint bills by (unless free,
 * or with a per-call fee): the model is refused, by name.
 */
export function priceFor(
  pricing: Pricing,
  model: string,
  dimension: PriceDimension,
  group: string,
  servedAs = model,
): { price: ModelPrice; multiplier: number } {
  const own = pricedFor(pricing.models[model], dimension);
  const upstream = servedAs === model ? own : pricedFor(pricing.models[servedAs], dimension);
  const price = own?.billsMappedCalls ? own : (upstream ?? own);
  if (!price) {
    throw new ModelUnavailable(
      model,
      "not_priced",
      msg("model_not_priced", servedAs === model ? { model } : { model, served_as: servedAs }),
    );
  }
  return { price, multiplier: pricing.groups[group] ?? 1 };
}

/** The price, when it prices what `dimension` bills (or is free, or has a per-call fee). */
function pricedFor(
  price: ModelPrice | undefined,
  dimension: PriceDimension,
): ModelPrice | undefined {
  const priced =
    price &&
    (price.free ||
      price.perCall !== undefined ||
      (dimension === "tokens" && billsTokens(price)) ||
      (dimension === "image" && (price.image !== undefined || billsTokens(price))) ||
      (dimension === "tts" && (price.ttsPerMillionChars !== undefined || billsTokens(price))) ||
      (dimension === "stt" && (price.sttPerMinute !== undefined || billsTokens(price))));
  return priced ? price : undefined;
}

/** What a bill is made of: a token rate's kind, or the per-call, per-image, TTS or STT part. */
export type CostKind = RateKind | "perCall" | "image" | "tts" | "stt";

export interface Bill {
  /** The cost in quota units: exact, multipliers applied, rounded up once. The truth. */
  units: number;
  /**
   * The cost of each kind the call consumed, in units with multipliers, to 6 decimals: for
   * display only (they need not add up to `units`, which is rounded once, as a whole).
   */
  costs: Partial<Record<CostKind, number>>;
}

const MICRO = 1_000_000n;
/** One quota unit is $0.000002 = 2,000,000 pico-dollars. */
const PICO_USD_PER_UNIT = 2_000_000n;
/**
 * Amounts are kept in sixtieths of a pico-dollar: a per-minute price times whole seconds is
 * then an exact integer, like everything else.
 */
const SIXTIETHS = 60n;

/** A metered count as an exact integer: never negative, a fraction rounds up. */
function count(value: number | undefined): bigint {
  return value && value > 0 ? BigInt(Math.ceil(value)) : 0n;
}

/** Prices and multipliers are decimals; they are used as exact integers of millionths. */
function micro(value: number): bigint {
  return BigInt(Math.round(value * 1e6));
}

/**
 * The order of the prompt's tokens for an "excess" tier, which bills the tokens past its
 * threshold: what a cache holds comes first (a cache holds a prompt's prefix), then what is
 * written to one (1-hour writes before 5-minute ones, as Anthropic requires of breakpoints),
 * then the rest — so the tokens past a threshold are the uncached ones first.
 */
const PROMPT_ORDER = [
  "cachedInputTokens",
  "cachedImageInputTokens",
  "cachedAudioInputTokens",
  "cacheWrite1hTokens",
  "cacheWriteTokens",
  "inputTokens",
  "imageInputTokens",
  "audioInputTokens",
] as const satisfies readonly (typeof INPUT_KINDS)[number][];

/** Every input token the call's prompt counted, as tiers count them (cache reads and writes too). */
function promptCount(metered: Metered): bigint {
  return INPUT_KINDS.reduce((sum, kind) => sum + count(metered[kind]), 0n);
}

/** The highest tier whose threshold the prompt passes, if any. */
function tierFor(price: ModelPrice, prompt: bigint): PriceTier | undefined {
  return price.tiers?.findLast((tier) => prompt > BigInt(tier.above));
}

/** Sixtieths of a pico-dollar per kind, before multipliers. */
function amounts(price: ModelPrice, metered: Metered): Map<CostKind, bigint> {
  const out = new Map<CostKind, bigint>();
  const add = (kind: CostKind, amount: bigint) => out.set(kind, (out.get(kind) ?? 0n) + amount);
  // A price in USD per 1M tokens, in millionths, is pico-dollars per token.
  const tokens = (kind: TokenKind, n: bigint, tier: PriceTier | undefined) =>
    add(RATE_OF[kind], n * micro(rateOf(price, tier, RATE_OF[kind])) * SIXTIETHS);
  const prompt = promptCount(metered);
  const top = tierFor(price, prompt);
  if (top?.basis === "excess") {
    // Brackets: up to the first threshold at the base rates, each tier's stretch at its own.
    const tiers = price.tiers ?? [];
    const bracket = [undefined, ...tiers];
    const starts = [0n, ...tiers.map((tier) => BigInt(tier.above))];
    let at = 0n;
    for (const kind of PROMPT_ORDER) {
      const n = count(metered[kind]);
      if (n === 0n) continue;
      for (const [i, start] of starts.entries()) {
        const end = starts[i + 1] ?? at + n;
        const overlap = min(at + n, end) - max(at, start);
        if (overlap > 0n) tokens(kind, overlap, bracket[i]);
      }
      at += n;
    }
    for (const kind of OUTPUT_KINDS) {
      const n = count(metered[kind]);
      if (n > 0n) tokens(kind, n, undefined);
    }
  } else {
    for (const kind of [...INPUT_KINDS, ...OUTPUT_KINDS]) {
      const n = count(metered[kind]);
      if (n > 0n) tokens(kind, n, top);
    }
  }
  for (const [kind, amount] of otherAmounts(price, metered)) add(kind, amount);
  return out;
}

/** Per call, per image, per character and per second: the same on a bill and a hold. */
function otherAmounts(price: ModelPrice, metered: Metered): [CostKind, bigint][] {
  const out: [CostKind, bigint][] = [];
  if (price.perCall !== undefined) {
    const calls = metered.calls === undefined ? 1n : count(metered.calls);
    out.push(["perCall", calls * micro(price.perCall) * MICRO * SIXTIETHS]);
  }
  // Images are priced per image only by a price that lists them (gpt-image-1 may be priced by
  // its tokens alone: a hold then covers the images by their tokens).
  if (metered.images && count(metered.images.count) > 0n && price.image) {
    const perImage = imagePrice(price, metered.images.size, metered.images.quality);
    out.push(["image", count(metered.images.count) * micro(perImage) * MICRO * SIXTIETHS]);
  }
  if (count(metered.ttsCharacters) > 0n) {
    // USD per 1M characters, in millionths: pico-dollars per character.
    const rate = micro(price.ttsPerMillionChars ?? 0);
    out.push(["tts", count(metered.ttsCharacters) * rate * SIXTIETHS]);
  }
  if (count(metered.sttSeconds) > 0n) {
    // USD per minute × seconds = sixtieths of USD per second.
    out.push(["stt", count(metered.sttSeconds) * micro(price.sttPerMinute ?? 0) * MICRO]);
  }
  return out;
}

/** Sixtieths of pico-dollars, times the multipliers, over their common denominator. */
function scaled(amount: bigint, multipliers: readonly number[]): [bigint, bigint] {
  let denominator = PICO_USD_PER_UNIT * SIXTIETHS;
  for (const multiplier of multipliers) {
    amount *= micro(multiplier);
    denominator *= MICRO;
  }
  return [amount, denominator];
}

function roundedUp(amount: bigint, multipliers: readonly number[]): number {
  const [numerator, denominator] = scaled(amount, multipliers);
  return Number((numerator + denominator - 1n) / denominator);
}

/**
 * What a call that consumed `metered` costs: Σ kind × its rate (its tier's, when the prompt
 * passes a tier's threshold), computed exactly in integers, times the multipliers, rounded up
 * once to the next whole unit ($0.000002), so no call is ever charged less than it cost.
 */
export function bill(price: ModelPrice, metered: Metered, multipliers: readonly number[]): Bill {
  if (price.free) return { units: 0, costs: {} };
  const parts = amounts(price, metered);
  let total = 0n;
  const costs: Partial<Record<CostKind, number>> = {};
  for (const [kind, amount] of parts) {
    total += amount;
    const [numerator, denominator] = scaled(amount * MICRO, multipliers);
    costs[kind] = Number((numerator + denominator / 2n) / denominator) / 1e6;
  }
  return { units: roundedUp(total, multipliers), costs };
}

/** The cost in quota units of what a call consumed (`bill` without the breakdown). */
export function costInUnits(
  price: ModelPrice,
  metered: Metered,
  multipliers: readonly number[],
): number {
  return bill(price, metered, multipliers).units;
}

/**
 * The most a call can cost, given the most it can consume (`bound`: its prompt's tokens of
 * any kinds, its answer's, and its images, characters, seconds and calls): every prompt token
 * at the dearest input-side rate the call could incur (a cache write, maybe) and every answer
 * token at the dearest output-side rate, over the base price and every tier whose threshold
 * the prompt's bound passes. No split of the bound among kinds, and no shorter prompt, bills
 * more.
 */
export function holdInUnits(
  price: ModelPrice,
  bound: Metered,
  multipliers: readonly number[],
): number {
  if (price.free) return 0;
  const prompt = promptCount(bound);
  const answer = OUTPUT_KINDS.reduce((sum, kind) => sum + count(bound[kind]), 0n);
  const sets = [undefined, ...(price.tiers ?? []).filter((tier) => prompt > BigInt(tier.above))];
  const dearest = (kinds: readonly RateKind[]) =>
    sets.reduce(
      (most, tier) => kinds.reduce((m, kind) => max(m, micro(rateOf(price, tier, kind))), most),
      0n,
    );
  let total = (prompt * dearest(INPUT_RATES) + answer * dearest(OUTPUT_RATES)) * SIXTIETHS;
  for (const [, amount] of otherAmounts(price, bound)) total += amount;
  return roundedUp(total, multipliers);
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * The price of one image of `size` and `quality`. `auto` (either) is what the model decides
 * (gpt-image's default): the dearest the price lists, over every size or every quality. A size
 * the price does not list falls back to its `default` entry (else 400); a quality it does not
 * list to the size's `default`, then `standard` (DALL·E's default), then the dearest.
 */
export function imagePrice(price: ModelPrice, size: string, quality: string): number {
  const table = price.image ?? {};
  const sizes =
    size === "auto" ? Object.values(table) : [table[size] ?? table.default].filter(Boolean);
  if (sizes.length === 0) {
    throw new InvalidRequest(msg("image_size_unavailable", { size }), "size");
  }
  let dearest: number | undefined;
  for (const bySize of sizes as Record<string, number>[]) {
    const listed = Object.values(bySize);
    const value =
      quality === "auto"
        ? Math.max(...listed)
        : (bySize[quality] ?? bySize.default ?? bySize.standard ?? Math.max(...listed));
    if (Number.isFinite(value) && (dearest === undefined || value > dearest)) dearest = value;
  }
  if (dearest === undefined) {
    throw new InvalidRequest(msg("image_quality_unavailable", { quality }), "quality");
  }
  return dearest;
}
