/**
 * How fast each (channel, model) generates, learned by this instance from its recent calls
 * whose upstream reported usage: tokens generated unseen over the time they took (a stream's
 * reasoning over its silence before the first token, prompt reading included; a whole
 * answer's tokens over the time it took; else a stream's answer over its duration). An answer
 * that ends without usage (a client that hung up, an upstream that was cut or timed out) is
 * billed for the time the model worked unseen at this rate (relay/estimate.ts). Kept in
 * memory: nothing is written per call, and an instance that has not yet seen a model uses the
 * operator's default rate.
 */
export interface GenerationRate {
  tokensPerSecond: number;
  /** Learned from this instance's calls (false: the default rate). */
  learned: boolean;
  /** A call's usage reported reasoning tokens: the model reasons before it answers. */
  reasons: boolean;
}

/** Answers shorter than this say more about the time to the first token than about speed. */
const MIN_SAMPLE_TOKENS = 64;
/** Each older call counts this much less than the one after it (about the last ten count). */
const DECAY = 0.8;
/** Pairs remembered at most; the least recently used goes first. */
const MAX_PAIRS = 2_000;

export class GenerationRates {
  private readonly pairs = new Map<string, { tokens: number; ms: number; reasons: boolean }>();

  constructor(private readonly defaultTokensPerSecond: number) {}

  /** Records that the pair generated `tokens` in `ms`; `reasons`: the call reported reasoning. */
  learn(
    channelId: string,
    model: string,
    sample: { tokens: number; ms: number; reasons: boolean },
  ) {
    const key = `${channelId}#${model}`;
    const old = this.pairs.get(key);
    const reasons = (old?.reasons ?? false) || sample.reasons;
    const weight = sample.tokens >= MIN_SAMPLE_TOKENS && sample.ms > 0 ? 1 : 0;
    if (weight === 0 && reasons === old?.reasons) return;
    const decay = weight === 1 ? DECAY : 1;
    this.pairs.delete(key);
    this.pairs.set(key, {
      tokens: (old?.tokens ?? 0) * decay + weight * sample.tokens,
      ms: (old?.ms ?? 0) * decay + weight * sample.ms,
      reasons,
    });
    if (this.pairs.size > MAX_PAIRS) this.pairs.delete(this.pairs.keys().next().value as string);
  }

  /** The pair's rate: learned (a recency-weighted mean, by tokens), or the default. */
  of(channelId: string, model: string): GenerationRate {
    const pair = this.pairs.get(`${channelId}#${model}`);
    const learned = pair !== undefined && pair.ms > 0;
    return {
      tokensPerSecond: learned ? (pair.tokens * 1000) / pair.ms : this.defaultTokensPerSecond,
      learned,
      reasons: pair?.reasons ?? false,
    };
  }
}
