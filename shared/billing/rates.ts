import type { TokenKind } from "./metered";
import type { ModelPrice, PriceTier, TokenRates } from "./pricing";

/** The rates of the prompt's side and of the answer's side. */
export const INPUT_RATES = [
  "input",
  "cachedInput",
  "cacheWrite",
  "cacheWrite1h",
  "audioInput",
  "cachedAudioInput",
  "imageInput",
  "cachedImageInput",
] as const satisfies readonly (keyof TokenRates)[];

export const OUTPUT_RATES = [
  "output",
  "reasoning",
  "audioOutput",
  "imageOutput",
] as const satisfies readonly (keyof TokenRates)[];

export type RateKind = (typeof INPUT_RATES)[number] | (typeof OUTPUT_RATES)[number];

export const RATE_KINDS: readonly RateKind[] = [...INPUT_RATES, ...OUTPUT_RATES];

/**
 * The rate a kind falls back to when a price does not set it: the rate it is a part of. So
 * price lists of `input` and `output` alone bill every kind as they always did (cache reads
 * as input, reasoning as output), and a price that sets `cacheWrite` prices its 1-hour
 * writes too unless it says otherwise.
 */
const FALLBACK: Record<RateKind, RateKind | undefined> = {
  input: undefined,
  cachedInput: "input",
  cacheWrite: "input",
  cacheWrite1h: "cacheWrite",
  audioInput: "input",
  cachedAudioInput: "audioInput",
  imageInput: "input",
  cachedImageInput: "imageInput",
  output: undefined,
  reasoning: "output",
  audioOutput: "output",
  imageOutput: "output",
};

/** The rate that bills each kind of token. */
export const RATE_OF = {
  inputTokens: "input",
  cachedInputTokens: "cachedInput",
  cacheWriteTokens: "cacheWrite",
  cacheWrite1hTokens: "cacheWrite1h",
  audioInputTokens: "audioInput",
  cachedAudioInputTokens: "cachedAudioInput",
  imageInputTokens: "imageInput",
  cachedImageInputTokens: "cachedImageInput",
  outputTokens: "output",
  reasoningTokens: "reasoning",
  audioOutputTokens: "audioOutput",
  imageOutputTokens: "imageOutput",
} as const satisfies Record<TokenKind, RateKind>;

/**
 * A cached audio or image token whose price sets no rate for audio or image (it bills that
 * medium as text) is a cached text token: it falls back to `cachedInput`, not to `input`.
 */
const CACHED_AS_TEXT: Partial<Record<RateKind, RateKind>> = {
  cachedAudioInput: "audioInput",
  cachedImageInput: "imageInput",
};

/** The rate `rates` sets for `kind`, or for what it falls back to; undefined when none. */
function ownRate(rates: TokenRates, kind: RateKind): number | undefined {
  const medium = CACHED_AS_TEXT[kind];
  if (medium && rates[kind] === undefined && rates[medium] === undefined) {
    return ownRate(rates, "cachedInput");
  }
  for (let k: RateKind | undefined = kind; k; k = FALLBACK[k]) {
    const rate = rates[k];
    if (rate !== undefined) return rate;
  }
  return undefined;
}

/**
 * USD per 1M tokens of `kind` under `tier` (or the base price): the tier's rate along the
 * fallback chain, else the price's, else 0 (a price without a rate for a kind does not bill
 * it, as a price without `input` never billed the prompt).
 */
export function rateOf(price: ModelPrice, tier: PriceTier | undefined, kind: RateKind): number {
  return (tier && ownRate(tier.rates, kind)) ?? ownRate(price, kind) ?? 0;
}

/** A price bills tokens: it sets a token rate, or has tiers. */
export function billsTokens(price: ModelPrice): boolean {
  return RATE_KINDS.some((kind) => price[kind] !== undefined) || (price.tiers?.length ?? 0) > 0;
}
