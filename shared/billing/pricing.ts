import { TtlCache } from "../cache";
import { InvalidRequest } from "../errors";
import { msg } from "../messages/codes";
import { PRICING_KEY } from "../store/keys";
import { ConditionFailed, type Table } from "../store/table";
import { DEFAULT_MODEL_PRICES } from "./default-prices";
import type { RateLimits } from "./rate-limits";

/**
 * The rates of a price per kind of token, USD per 1M tokens. A kind without a rate of its own
 * is billed at the rate it is a part of (billing/rates.ts: cached input at the input rate,
 * reasoning at the output rate, …), so a price of `input` and `output` alone bills as before.
 */
export interface TokenRates {
  /** Text input (prompt) tokens. */
  input?: number;
  /** Input read from a prompt cache. */
  cachedInput?: number;
  /** Input written to a prompt cache kept 5 minutes. */
  cacheWrite?: number;
  /** Input written to a prompt cache kept an hour. */
  cacheWrite1h?: number;
  audioInput?: number;
  cachedAudioInput?: number;
  imageInput?: number;
  cachedImageInput?: number;
  /** Text output (completion) tokens. */
  output?: number;
  reasoning?: number;
  audioOutput?: number;
  imageOutput?: number;
}

/**
 * Other rates for a call whose prompt (every input token, cache reads and writes included)
 * is longer than `above` tokens. "whole": every token of the call at the tier's rates (as
 * Anthropic and OpenAI price long contexts); "excess": only the prompt's tokens past `above`
 * at the tier's input rates (billing/cost.ts says which tokens those are). A rate the tier
 * does not set falls back within the tier, then to the price's own.
 */
export interface PriceTier {
  above: number;
  basis: "whole" | "excess";
  rates: TokenRates;
}

/** What one model costs, in USD. Absent fields mean the model is not billed that way. */
export interface ModelPrice extends TokenRates {
  /** USD per call, on top of the rest. */
  perCall?: number;
  /** Long-context tiers, by ascending threshold, all of one basis. */
  tiers?: PriceTier[];
  /** USD per image, by size then quality ("standard", "hd", …; "default" when none is sent). */
  image?: Record<string, Record<string, number>>;
  /** USD per 1M characters of text to speech. */
  ttsPerMillionChars?: number;
  /** USD per minute of speech to text. */
  sttPerMinute?: number;
  /**
   * The longest answer the model writes, in tokens: sent as max_tokens (and held) when a
   * request sets none, so that no answer can cost more than its hold.
   */
  defaultMaxTokens?: number;
  /** Batch lines of this model cost this multiple of the price (overrides the group's and the default). */
  batchDiscount?: number;
  /** Served without charge (still logged). */
  free?: boolean;
  /**
   * A channel that maps this name to another model (`model_mapping`) bills its calls at this
   * price, not the upstream model's (billing/cost.ts: priceFor).
   */
  billsMappedCalls?: boolean;
  /** Where the price was read (a URL or a note), and on what date (YYYY-MM-DD). */
  source?: string;
  asOf?: string;
}

export interface Pricing {
  models: Record<string, ModelPrice>;
  /** Price multiplier per user group; groups not listed pay 1×. */
  groups: Record<string, number>;
  /**
   * Multiplier for batch lines. 1 by default: sluice runs batch lines on the upstream's
   * realtime endpoint at full price, so a discount is the operator's own margin given away.
   */
  batchDiscount: number;
  /** Batch multipliers for user groups, over `batchDiscount`. */
  groupBatchDiscounts?: Record<string, number>;
  /** Rate limits of each key, per user group (billing/rate-limits.ts); groups not listed have none. */
  groupRateLimits?: Record<string, RateLimits>;
  /** Rate limits of each user (all their keys together), per user group. */
  groupUserRateLimits?: Record<string, RateLimits>;
  /** max_tokens to send (and hold) when neither the request nor the model's price says. */
  defaultMaxTokens: number;
  /** Bumped on every change; a PUT may name the version it edits. */
  version: number;
}

/** The providers' list prices (default-prices.ts), used until an admin saves their own. */
export const DEFAULT_PRICING: Pricing = {
  models: DEFAULT_MODEL_PRICES,
  groups: { default: 1 },
  batchDiscount: 1,
  defaultMaxTokens: 4096,
  version: 0,
};

/** What a batch line of `model` costs a user of `group`, as a multiple of the price. */
export function batchDiscountFor(pricing: Pricing, model: string, group: string): number {
  return (
    pricing.models[model]?.batchDiscount ??
    pricing.groupBatchDiscounts?.[group] ??
    pricing.batchDiscount
  );
}

/** The price list is one DynamoDB item (at most 400 KB, attribute names and all): room to spare. */
const MAX_PRICE_LIST_BYTES = 350_000;

/** Refuses a price list too large to be stored, saying why. */
export function requireStorable(pricing: Pricing): void {
  const bytes = Buffer.byteLength(JSON.stringify(pricing));
  if (bytes > MAX_PRICE_LIST_BYTES) {
    throw new InvalidRequest(
      msg("price_list_too_big", {
        kb: Math.ceil(bytes / 1000),
        max_kb: MAX_PRICE_LIST_BYTES / 1000,
      }),
    );
  }
}

/** The price list in DynamoDB (CONFIG/PRICING), served from memory between cache refreshes. */
export class PricingCatalog {
  private readonly cache: TtlCache<"pricing", Pricing>;

  constructor(
    private readonly table: Table,
    cacheTtlMs: number,
  ) {
    this.cache = new TtlCache(cacheTtlMs);
  }

  get(): Promise<Pricing> {
    return this.cache.get("pricing", async () => {
      const item = await this.table.get<Pricing & { pk: string }>(PRICING_KEY);
      return item ? toPricing(item) : DEFAULT_PRICING;
    });
  }

  /** The stored price list read afresh (not the cache): what an edit now would start from. */
  async current(): Promise<Pricing> {
    const item = await this.table.get<Pricing & { pk: string }>(PRICING_KEY, true);
    return item ? toPricing(item) : DEFAULT_PRICING;
  }

  /**
   * Changes the price list: `edit` gets the stored one, read afresh (not the cache), and
   * returns the next. With `expectedVersion`, fails with ConditionFailed when someone else
   * changed it first (no lost updates between two admins); without, a change made between
   * the read and the write fails the same way. A list found stored exactly as this write
   * would store it counts as written: this write's own retry after a lost answer (or another
   * admin's identical save, which loses nothing).
   */
  async update(
    edit: (current: Pricing) => Omit<Pricing, "version">,
    expectedVersion?: number,
  ): Promise<Pricing> {
    const item = await this.table.get<Pricing & { pk: string }>(PRICING_KEY, true);
    const current = item ? toPricing(item) : DEFAULT_PRICING;
    const currentVersion = item?.version ?? 0;
    if (expectedVersion !== undefined && expectedVersion !== currentVersion)
      throw new ConditionFailed();
    // An edit that spreads `current` carries its version along: the next one is ours to set.
    const { version: _version, ...edited }: Partial<Pricing> & Omit<Pricing, "version"> =
      edit(current);
    const next: Pricing = { ...edited, version: currentVersion + 1 };
    requireStorable(next);
    // The whole list with the next version: an equal item there is this write's own.
    await this.table.putOnce(
      { ...PRICING_KEY, ...next },
      item
        ? { condition: "version = :v", values: { ":v": currentVersion } }
        : { condition: "attribute_not_exists(pk)" },
    );
    this.cache.clear();
    return next;
  }
}

function toPricing(item: Pricing & { pk?: string; sk?: string }): Pricing {
  const { pk: _pk, sk: _sk, ...pricing } = item;
  return pricing;
}
