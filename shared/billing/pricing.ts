import { TtlCache } from "../cache";
import { PRICING_KEY } from "../store/keys";
import { ConditionFailed, type Table } from "../store/table";
import type { RateLimits } from "./rate-limits";

/** What one model costs, in USD. Absent fields mean the model is not billed that way. */
export interface ModelPrice {
  /** USD per 1M input (prompt) tokens. */
  input?: number;
  /** USD per 1M output (completion) tokens. */
  output?: number;
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

/** List prices of common OpenAI models, used until an admin sets their own. */
export const DEFAULT_PRICING: Pricing = {
  models: {
    "gpt-5": { input: 1.25, output: 10, defaultMaxTokens: 128_000 },
    "gpt-5-mini": { input: 0.25, output: 2, defaultMaxTokens: 128_000 },
    "gpt-5-nano": { input: 0.05, output: 0.4, defaultMaxTokens: 128_000 },
    "gpt-4.1": { input: 2, output: 8, defaultMaxTokens: 32_768 },
    "gpt-4.1-mini": { input: 0.4, output: 1.6, defaultMaxTokens: 32_768 },
    "gpt-4.1-nano": { input: 0.1, output: 0.4, defaultMaxTokens: 32_768 },
    "gpt-4o": { input: 2.5, output: 10, defaultMaxTokens: 16_384 },
    "gpt-4o-mini": { input: 0.15, output: 0.6, defaultMaxTokens: 16_384 },
    "gpt-4-turbo": { input: 10, output: 30, defaultMaxTokens: 4_096 },
    "gpt-4": { input: 30, output: 60, defaultMaxTokens: 8_192 },
    "gpt-3.5-turbo": { input: 0.5, output: 1.5, defaultMaxTokens: 4_096 },
    "gpt-3.5-turbo-instruct": { input: 1.5, output: 2, defaultMaxTokens: 4_096 },
    // The retired edits models, served as chat completions: priced like gpt-4o-mini.
    "text-davinci-edit-001": { input: 0.15, output: 0.6 },
    "code-davinci-edit-001": { input: 0.15, output: 0.6 },
    o1: { input: 15, output: 60, defaultMaxTokens: 100_000 },
    o3: { input: 2, output: 8, defaultMaxTokens: 100_000 },
    "o3-mini": { input: 1.1, output: 4.4, defaultMaxTokens: 100_000 },
    "o4-mini": { input: 1.1, output: 4.4, defaultMaxTokens: 100_000 },
    "text-embedding-3-small": { input: 0.02 },
    "text-embedding-3-large": { input: 0.13 },
    "text-embedding-ada-002": { input: 0.1 },
    "dall-e-3": {
      image: {
        "1024x1024": { standard: 0.04, hd: 0.08 },
        "1024x1792": { standard: 0.08, hd: 0.12 },
        "1792x1024": { standard: 0.08, hd: 0.12 },
      },
    },
    "dall-e-2": {
      image: {
        "256x256": { default: 0.016 },
        "512x512": { default: 0.018 },
        "1024x1024": { default: 0.02 },
      },
    },
    "tts-1": { ttsPerMillionChars: 15 },
    "tts-1-hd": { ttsPerMillionChars: 30 },
    "tts-az-1": { ttsPerMillionChars: 16 },
    "whisper-1": { sttPerMinute: 0.006 },
    // Priced by tokens: audio in (the text prompt is billed at the audio rate too), text out.
    "gpt-4o-transcribe": { input: 6, output: 10 },
    "gpt-4o-mini-transcribe": { input: 3, output: 5 },
    "omni-moderation-latest": { free: true },
    "text-moderation-latest": { free: true },
  },
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

  /**
   * Changes the price list: `edit` gets the stored one, read afresh (not the cache), and
   * returns the next. With `expectedVersion`, fails with ConditionFailed when someone else
   * changed it first (no lost updates between two admins); without, a change made between
   * the read and the write fails the same way.
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
    await this.table.put(
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
